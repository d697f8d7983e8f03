"""Timer triggers on devhost's clock: a six-field NCRONTAB schedule ({second} {minute} {hour}
{day} {month} {day-of-week}) as the Functions host's timer trigger takes it, fired in order when
a manual clock is advanced, counted as work until it ends, and a five-field schedule refused at
start as Azure refuses it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from devhost.app.loader import TimerFunction
from devhost.durable.clock import from_wire
from devhost.engine.schedules import Schedules
from devhost.testing import command
from tests.devhost.support import SAMPLER


def test_advancing_the_clock_runs_each_occurrence_in_order_on_host_time(devhost_factory):
    host = devhost_factory(SAMPLER, "--clock", "manual")
    start = from_wire(host.advance(0))
    assert host.http.get("/api/ticks").json() == []
    host.advance(3 * 86400)  # answers once the work the runs caused has run out
    ticks = host.http.get("/api/ticks").json()
    midnights = [
        datetime.combine(start.date() + timedelta(days=n), datetime.min.time(), start.tzinfo)
        for n in (1, 2, 3)
    ]
    assert [from_wire(t["next"]) for t in ticks] == midnights
    assert [t["pastDue"] for t in ticks] == [False, False, False]


def test_the_auto_clock_does_not_jump_for_a_schedule_alone(devhost_factory):
    host = devhost_factory(SAMPLER, "--clock", "auto")
    before = from_wire(host.http.get("/devhost/clock").json()["now"])
    idle = host.http.get("/devhost/idle", params={"timeout": "10"})
    assert idle.status_code == 200 and idle.json()["idle"] is True
    assert from_wire(idle.json()["now"]) - before < timedelta(days=1)
    assert host.http.get("/api/ticks").json() == []


def test_a_five_field_schedule_is_refused_at_start(tmp_path):
    app = tmp_path / "five_fields"
    app.mkdir()
    (app / "host.json").write_text('{"version": "2.0"}')
    (app / "function_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp()\n\n"
        "@app.timer_trigger(arg_name='timer', schedule='*/5 * * * *')\n"
        "def every_five(timer: func.TimerRequest) -> None:\n"
        "    pass\n"
    )
    done = command("start", "--app", str(app), "--port", "0", timeout=60)
    assert done.returncode == 1
    assert "every_five" in done.stderr and "six-field NCRONTAB" in done.stderr


def test_a_reload_keeps_an_unchanged_schedule_and_starts_a_changed_one_afresh():
    """Watch mode (devhost/watch.py) renews the schedules from the reloaded app's functions:
    a trigger whose expression did not change keeps its record and an occurrence that came due
    during the reload; a changed one starts from the reload."""
    start = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)
    hourly = TimerFunction("hourly", "0 0 * * * *", None, "timer", None, None)
    daily = TimerFunction("daily", "0 30 10 * * *", None, "timer", None, None)
    schedules = Schedules([hourly, daily], start)
    schedules.take_due(start + timedelta(hours=1))  # 11:00: both ran once

    reload = start + timedelta(hours=2, minutes=10)  # 12:00 came due, not yet run
    renewed = schedules.renewed([hourly, replace(daily, schedule="0 30 12 * * *")], reload)

    assert renewed.upcoming["hourly"] == start + timedelta(hours=2)
    assert renewed.last["hourly"] == start + timedelta(hours=1)
    assert renewed.upcoming["daily"] == datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
    assert "daily" not in renewed.last
