"""Timer triggers as the WebJobs timer extension runs them (azure-webjobs-sdk-extensions,
2024-10-14, src/WebJobs.Extensions/Extensions/Timers): TimerSchedule.Create's schedule kinds,
ScheduleMonitor.CheckPastDueAsync's catch-up after the host was down, TimerListener's
runOnStartup, and a refused schedule leaving only its own function out, as the host's indexing
does (ScriptHost: "The '<name>' function is in error: ...")."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from devhost.app.loader import TimerFunction
from devhost.app.timer_schedules import (
    NEVER,
    ConstantSchedule,
    CronSchedule,
    ScheduleError,
    parse_schedule,
)
from devhost.durable.clock import from_wire, to_wire
from devhost.engine.schedules import Schedules, ScheduleStatus, check_past_due
from tests.devhost.support import APPS

LIMITS = APPS / "limits"
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def timer(name: str, schedule: str, **flags: bool) -> TimerFunction:
    return TimerFunction(name, schedule, None, "timer", None, None, **flags)


@pytest.mark.parametrize(
    ("schedule", "kind", "first_after_noon"),
    [
        ("0 30 9 * * *", CronSchedule, NOON.replace(day=3, hour=9, minute=30)),
        ("30 9 * * *", CronSchedule, NOON.replace(day=3, hour=9, minute=30)),  # no seconds
        ("00:00:05", ConstantSchedule, NOON + timedelta(seconds=5)),
        ("1.00:00:00", ConstantSchedule, NOON + timedelta(days=1)),
        ("01:30", ConstantSchedule, NOON + timedelta(hours=1, minutes=30)),
        ("2", ConstantSchedule, NOON + timedelta(days=2)),  # a bare number is days
    ],
)
def test_a_schedule_is_cron_when_it_parses_as_one_else_a_timespan(schedule, kind, first_after_noon):
    """TimerSchedule.Create: CronSchedule.TryCreate (five fields without seconds, six with),
    then TimeSpan.TryParse for a ConstantSchedule."""
    parsed = parse_schedule(schedule)
    assert isinstance(parsed, kind)
    assert parsed.next_after(NOON) == first_after_noon


def test_a_setting_names_the_schedule(monkeypatch):
    monkeypatch.setenv("REPORT_SCHEDULE", "00:10:00")
    assert parse_schedule("%REPORT_SCHEDULE%") == ConstantSchedule(timedelta(minutes=10))


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            "every day at noon",
            "The schedule expression 'every day at noon' was not recognized as a valid cron "
            "expression or timespan string.",
        ),
        ("25:00:00", "The schedule expression '25:00:00' was not recognized"),
        ("00:00:00", "The schedule expression '00:00:00' is a zero interval: Azure would run"),
        ("%NO_SUCH_SCHEDULE%", "'%NO_SUCH_SCHEDULE%' does not resolve to a value."),
    ],
)
def test_a_schedule_the_extension_refuses_says_so_in_its_words(schedule, message):
    """TimerSchedule.Create's ArgumentException; NameResolverExtensions.ResolveWholeString
    (azure-webjobs-sdk 2024-10-21) for an unset setting."""
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(schedule)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("schedule", "monitored"),
    [
        ("*/10 * * * * *", False),
        ("00:00:30", False),
        ("0 * * * * *", True),
        ("00:01:00", True),
        ("*/10 * 3 * * *", True),  # an hour restricted: the extension keeps the monitor
    ],
)
def test_the_monitor_is_off_for_schedules_that_fire_more_than_once_a_minute(schedule, monitored):
    """TimerSchedule.ShouldDisableScheduleMonitor and the TimeSpan check in Create: UseMonitor
    (default true) is turned off below a minute."""
    schedules = Schedules.start([timer("t", schedule)], NOON, {})
    assert schedules.triggers["t"].monitored is monitored
    assert set(schedules.recorded()) == ({"t"} if monitored else set())


def test_a_missed_occurrence_is_past_due_and_a_changed_schedule_is_not():
    """ScheduleMonitor.CheckPastDueAsync: the recorded Next passed while no host ran; a status
    recorded under another schedule is recomputed from now instead."""
    hourly = parse_schedule("0 0 * * * *")
    ran = NOON - timedelta(hours=3)
    recorded = ScheduleStatus(ran, ran + timedelta(hours=1), ran)

    status, past_due = check_past_due(hourly, recorded, NOON + timedelta(minutes=5))
    assert past_due and status == recorded

    daily = parse_schedule("0 0 3 * * *")
    status, past_due = check_past_due(daily, recorded, NOON + timedelta(minutes=5))
    assert not past_due
    assert status == ScheduleStatus(NEVER, datetime(2026, 3, 3, 3, tzinfo=UTC), status.last_updated)

    status, past_due = check_past_due(hourly, None, NOON)
    assert not past_due and status == ScheduleStatus(NEVER, NOON + timedelta(hours=1), NOON)


def test_a_run_takes_the_recorded_status_and_the_schedule_moves_on_from_it():
    """TimerListener.InvokeJobFunction: TimerInfo carries the status recorded before the run;
    afterwards Last and LastUpdated are this run and Next the occurrence after it. A trigger
    runs again only once its run ended."""
    schedules = Schedules.start([timer("hourly", "0 0 * * * *")], NOON, {})
    (run,) = schedules.take_due(NOON + timedelta(hours=1))
    assert run.reason == f"Timer fired at {(NOON + timedelta(hours=1)).isoformat()}"
    assert '"Next": "2026-03-02T13:00:00+00:00"' in run.info
    assert schedules.take_due(NOON + timedelta(hours=5)) == []  # still running
    schedules.finished(run)
    assert schedules.triggers["hourly"].status == ScheduleStatus(
        NOON + timedelta(hours=1), NOON + timedelta(hours=2), NOON + timedelta(hours=1)
    )


@pytest.fixture(scope="module")
def restarted(devhost_factory, tmp_path_factory):
    """The limits app on a manual clock: a first host runs ten seconds, stops, and a second
    starts on the same task hub two days later in host time (the hub's clock row moved, as
    time passes while an app is down)."""
    hub = tmp_path_factory.mktemp("timers") / "hub.sqlite"
    first = devhost_factory(LIMITS, clock="manual", hub=hub)
    started = from_wire(first.advance(0))
    first.advance(10)
    first_runs = first.http.get("/api/runs").json()
    first.stop()
    first_log = first.log.read_text()
    with sqlite3.connect(hub) as db:
        db.execute("UPDATE clock SET host_time = ?", (to_wire(started + timedelta(days=2)),))
    second = devhost_factory(LIMITS, clock="manual", hub=hub)
    return started, first_runs, first_log, second


def test_timespan_schedules_run_and_run_on_startup_runs_at_each_start(restarted):
    _, first_runs, _, second = restarted
    names = [run["name"] for run in first_runs]
    assert names.count("daily_and_at_startup") == 1  # at start, not yet a day later
    assert names.count("every_five_seconds") == 2  # at 5 s and 10 s
    startup = next(run for run in first_runs if run["name"] == "daily_and_at_startup")
    assert startup["pastDue"] is False
    second.idle()
    again = [run["name"] for run in second.http.get("/api/runs").json()]
    assert again.count("daily_and_at_startup") == 1


def test_a_run_missed_while_the_host_was_down_runs_at_start_past_due(restarted):
    """The same schedule with use_monitor=False (the host's binding metadata `useMonitor`,
    CoreExtensionsScriptBindingProvider) keeps no status, so nothing is made up."""
    started, _, _, second = restarted
    second.idle()
    runs = second.http.get("/api/runs").json()
    assert "midnight_unmonitored" not in {run["name"] for run in runs}
    (missed,) = [run for run in runs if run["name"] == "midnight"]  # two missed, one run
    assert missed["pastDue"] is True
    recorded_next = from_wire(missed["status"]["Next"])  # the first midnight missed
    assert recorded_next.time() == datetime.min.time()
    assert started < recorded_next <= started + timedelta(days=1, seconds=10)


def test_a_refused_schedule_leaves_out_only_its_function_with_the_hosts_error(restarted):
    _, first_runs, first_log, _ = restarted
    assert (
        "The 'unreadable_schedule' function is in error: Microsoft.Azure.WebJobs.Host: Error "
        "indexing method 'Functions.unreadable_schedule'. Microsoft.Azure.WebJobs.Extensions: "
        "The schedule expression 'every day at noon' was not recognized as a valid cron "
        "expression or timespan string."
    ) in first_log
    assert "'%LIMITS_UNSET_SCHEDULE%' does not resolve to a value." in first_log
    assert not {"unreadable_schedule", "unset_schedule"} & {run["name"] for run in first_runs}
