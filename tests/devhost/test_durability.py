"""Crash and shutdown: SIGKILL loses nothing and records nothing twice; SIGTERM drains and exits 0.

The `durable` app appends every activity call to calls.log, so each test can compare how often
work ran (at least once) with how often its result entered the history (exactly once).
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import pytest

from tests.devhost.support import (
    DURABLE,
    WEBHOOKS,
    assert_error,
    history,
    raise_event,
    start,
    unique,
)

KILLED = -signal.SIGKILL


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def host(devhost_factory, folder):
    """A fresh hub per test; the same hub file across the restarts within it."""
    running = devhost_factory(  # fsynced, as `devhost start` is (test_chaos kills `--sync normal`)
        DURABLE, "--sync", "full", env={"DURABLE_DIR": str(folder)}, hub=folder / "hub.sqlite"
    )
    yield running
    running.stop()


def calls(folder: Path) -> Counter[str]:
    log = folder / "calls.log"
    return Counter(log.read_text().splitlines() if log.exists() else [])


def results(host, instance_id: str, kind: str = "TaskCompleted") -> list:
    """What the history recorded: activity results, or the data of raised events (whose
    Input the status API shows as the stored JSON text)."""
    events = [e for e in history(host, instance_id) if e["EventType"] == kind]
    if kind == "EventRaised":
        return [json.loads(e["Input"]) for e in events]
    return [e["Result"] for e in events]


def test_sigkill_mid_work_loses_nothing_and_records_no_result_twice(host, folder):
    (folder / "hold").touch()
    gated = start(host, "gated_sequence", unique("gated"), 3)
    host.wait_until(lambda: calls(folder)[f"gated {gated}:0"] == 1, message="the first activity")
    inbox = start(host, "inbox", unique("inbox"), 3)
    host.wait_for(inbox, statuses=("Running",))
    assert host.http.post(f"{WEBHOOKS}/instances/{inbox}/suspend").status_code == 202
    for value in ("one", "two", "three"):
        assert raise_event(host, inbox, "Item", value).status_code == 202
    burst = start(host, "burst", unique("burst"), 30)

    assert host.stop(kill=True) == KILLED
    (folder / "hold").unlink()
    host.start()

    body = host.wait_for(gated)
    assert body["output"] == [f"done {gated}:{n}" for n in range(3)]
    assert results(host, gated) == body["output"]
    # The interrupted activity ran again (at least once); finished ones never re-ran.
    assert calls(folder)[f"gated {gated}:0"] == 2
    assert calls(folder)[f"gated {gated}:1"] == calls(folder)[f"gated {gated}:2"] == 1
    assert host.http.post(f"{WEBHOOKS}/instances/{inbox}/resume").status_code == 202
    assert host.wait_for(inbox)["output"] == ["one", "two", "three"]
    assert results(host, inbox, "EventRaised") == ["one", "two", "three"]
    assert host.wait_for(burst)["output"] == list(range(30))
    assert sorted(results(host, burst)) == list(range(30))


@pytest.mark.parametrize("recorded", [0, 1, 90])
def test_sigkill_at_any_moment_of_a_burst(host, recorded):
    """Killed once `recorded` of the burst's 180 activity results are in the history: straight
    after the starts were accepted, at the first result, and half-way through."""
    ids = [start(host, "burst", unique("storm"), 60) for _ in range(3)]
    host.wait_until(
        lambda: sum(len(results(host, i)) for i in ids) >= recorded,
        message=f"{recorded} results recorded",
    )

    assert host.stop(kill=True) == KILLED
    host.start()

    for instance_id in ids:
        assert host.wait_for(instance_id)["output"] == list(range(60))
        assert sorted(results(host, instance_id)) == list(range(60))


def test_sigterm_lets_running_activities_finish_exits_0_and_resumes_next_start(host, folder):
    pair = start(host, "slow_pair", unique("pair"), None)
    host.wait_until(lambda: calls(folder)[f"slow {pair}:0 start"] == 1, message="the activity")

    assert host.stop() == 0
    # The running activity finished inside the grace period; nothing new was started.
    assert calls(folder)[f"slow {pair}:0 end"] == 1
    assert calls(folder)[f"slow {pair}:1 start"] == 0

    host.start()
    body = host.wait_for(pair)
    assert body["output"] == [f"slept {pair}:0", f"slept {pair}:1"]
    assert results(host, pair) == body["output"]
    assert calls(folder)[f"slow {pair}:0 start"] == 1  # its result was kept, not re-run


def test_sigterm_does_not_wait_forever_for_a_stuck_activity(host, folder):
    (folder / "hold").touch()
    gated = start(host, "gated_sequence", unique("stuck"), 1)
    host.wait_until(lambda: calls(folder)[f"gated {gated}:0"] == 1, message="the activity")

    # The activity is still held (it gives up only after 60 s) and stop() waits 30 s at
    # most: the host exits 0 without it.
    assert host.stop() == 0
    assert (folder / "hold").exists()

    (folder / "hold").unlink()
    host.start()
    assert host.wait_for(gated)["output"] == [f"done {gated}:0"]
    assert calls(folder)[f"gated {gated}:0"] == 2
    assert len(results(host, gated)) == 1


def test_activity_concurrency_follows_host_json(host, folder):
    """host.json sets maxConcurrentActivityFunctions to 2: of six activities that run until
    released, two start and the host holds the other four back."""
    (folder / "hold").touch()
    instance_id = start(host, "crowd", unique("crowd"), 6)
    host.wait_until(lambda: calls(folder).total() >= 2, message="two activities to start")

    still = host.http.get("/devhost/idle", params={"timeout": "0"})
    (folder / "hold").unlink()

    busy = assert_error(still, 408)["Message"]
    assert "activities running: held, held;" in busy
    # A message stays due until its result is recorded: the two running and the four held back.
    assert "activity messages due: 6" in busy
    assert host.wait_for(instance_id)["output"] == 2  # never more than two at once
    assert calls(folder).total() == 6
