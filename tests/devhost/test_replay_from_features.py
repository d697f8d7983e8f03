"""replay-check --from over every kind of step devhost runs, in flight on the sampler app: a
retried activity waiting for its retry timer, a retried sub-orchestration, a parent waiting for
its child (and the child waiting for an approval), events half collected, a suspended
instance, a race still waiting on its timer, and a ten-day timer halfway through its
three-day pieces. The manual clock stamps all of it with a few moments, so the rebuild has to
tell the steps apart by what the code asks for rather than by their times.
"""

from __future__ import annotations

import shutil

from devhost.testing import command
from tests.devhost.support import SAMPLER, start, unique

HUB = {"SAMPLER_HUB": "samplerhub"}


def test_every_kind_of_step_in_flight_replays_and_a_renamed_step_diverges(
    devhost_factory, tmp_path
):
    host = devhost_factory(SAMPLER, clock="manual")
    prefix = unique("flight")
    start(host, "long_wait", f"{prefix}-long")
    host.advance(days=3, hours=12)  # the long timer's first piece fires; the rest still wait
    start(host, "flaky_with_retry", f"{prefix}-retry", {"key": f"{prefix}-a", "failures": 2})
    start(host, "parent_with_retry", f"{prefix}-child-retry", {"key": f"{prefix}-b", "failures": 1})
    start(host, "waits_on_child", f"{prefix}-parent")
    start(host, "collect_events", f"{prefix}-events", 3)
    start(host, "approval", f"{prefix}-suspended")
    start(host, "race", f"{prefix}-race")
    host.idle()
    host.raise_event(f"{prefix}-events", "Item", "first")
    suspend = f"/runtime/webhooks/durabletask/instances/{prefix}-suspended/suspend"
    assert host.http.post(suspend).status_code == 202
    host.advance(seconds=1)  # the first retry of each: the second attempt fails again
    statuses = {
        instance_id: host.status(instance_id)["runtimeStatus"]
        for instance_id in (f"{prefix}-retry", f"{prefix}-parent", f"{prefix}-long")
    }
    assert set(statuses.values()) == {"Running"}, statuses

    unchanged = command(
        "replay-check", "--app", str(SAMPLER), "--from", host.base_url, "--prefix", prefix, env=HUB
    )
    renamed = replay_changed(
        host, prefix, tmp_path / "renamed", '"flaky", options, spec', '"flaky_v2", options, spec'
    )
    new_input = replay_changed(
        host,
        prefix,
        tmp_path / "input",
        '"flaky", options, spec',
        '"flaky", options, {**spec, "v": 2}',
    )

    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "7 instances in flight at" in unchanged.stdout and ", 0 diverged" in unchanged.stdout
    assert renamed.returncode == 1, renamed.stdout + renamed.stderr
    where = f"{prefix}-retry (flaky_with_retry, {host.base_url})"
    assert f"{where}: diverges at sequence number 0" in renamed.stdout
    assert "code:    schedules activity 'flaky_v2'" in renamed.stdout
    assert ", 1 diverged" in renamed.stdout
    # The sampler keeps no activity inputs in history (no storeInputsInOrchestrationHistory in
    # its host.json, as on Azure by default): the API has none to compare, only names.
    assert new_input.returncode == 0, new_input.stdout + new_input.stderr


def replay_changed(host, prefix: str, folder, old: str, new: str):
    shutil.copytree(SAMPLER, folder)
    source = folder / "function_app.py"
    assert source.read_text().count(old) == 1
    source.write_text(source.read_text().replace(old, new))
    return command(
        "replay-check", "--app", str(folder), "--from", host.base_url, "--prefix", prefix, env=HUB
    )
