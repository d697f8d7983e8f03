"""`devhost export` and `devhost replay-check` on the sampler app's task hub.

A divergence is what DurableTask.Core's `TaskOrchestrationContext.HandleTaskScheduledEvent`
(and its timer and sub-orchestration twins) would throw as NonDeterministicOrchestrationException
on the instance's next replay in Azure; replay-check reports it before the deploy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from devhost.testing import command
from tests.devhost.support import SAMPLER, run

SEQUENCE = 'results.append((yield context.call_activity("say_hello", f"{name} in {city}")))'


def sampler_with(folder: Path, old: str, new: str, *more: tuple[str, str]) -> Path:
    """A copy of the sampler app with pieces of its code rewritten."""
    shutil.copytree(SAMPLER, folder)
    source = folder / "function_app.py"
    text = source.read_text()
    for before, after in [(old, new), *more]:
        assert before in text
        text = text.replace(before, after)
    source.write_text(text)
    return folder


@pytest.fixture(scope="module")
def host(devhost_factory):
    return devhost_factory(SAMPLER)


@pytest.fixture(scope="module")
def recorded(host) -> list[str]:
    """Two finished sequences, in the hub, under ids replay-check can filter on."""
    return [run(host, "hello_sequence", name, prefix="rc-seq")["instanceId"] for name in "AB"]


def check_hub(host, app: Path, *filters: str) -> subprocess.CompletedProcess[str]:
    return command("replay-check", "--app", str(app), "--hub", str(host.hub), *filters)


def test_export_writes_each_history_as_a_json_file(host, recorded, tmp_path):
    result = command("export", *recorded, "--hub", str(host.hub), "--out", str(tmp_path))

    assert result.returncode == 0, result.stderr
    written = sorted(tmp_path.glob("*.json"))
    assert [p.name for p in written] == sorted(f"{i}.json" for i in recorded)
    document = json.loads(written[0].read_text())
    assert document["format"] == "devhost-history/1"
    assert document["name"] == "hello_sequence" and document["runtimeStatus"] == "Completed"
    assert [e["Name"] for e in document["history"] if e["EventType"] == 4] == ["say_hello"] * 3


def test_export_of_an_unknown_instance_writes_nothing_and_exits_1(host, recorded, tmp_path):
    result = command("export", recorded[0], "nope", "--hub", str(host.hub), "--out", str(tmp_path))

    assert result.returncode == 1
    assert "no instance 'nope'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unchanged_code_replays_every_history_in_the_hub(host, recorded):
    result = check_hub(host, SAMPLER, "--prefix", "rc-seq", "--status", "Completed")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 histories replayed against the current code, 0 diverged" in result.stdout


def test_a_step_inserted_before_a_recorded_one_is_named_with_both_sides(host, recorded, tmp_path):
    app = sampler_with(
        tmp_path / "app",
        "    results = []\n",
        '    results = [(yield context.call_activity("say_hello", "first"))]\n',
    )
    result = check_hub(host, app, "--prefix", "rc-seq")

    assert result.returncode == 1
    assert "2 histories replayed against the current code, 2 diverged" in result.stdout
    assert f"{recorded[0]} (hello_sequence, task hub): diverges at sequence number 0" in (
        result.stdout
    )
    assert "history: activity 'say_hello' with input \"A in Tokyo\"" in result.stdout
    assert "code:    schedules activity 'say_hello' with input \"first\"" in result.stdout


def test_a_changed_input_and_a_removed_step_diverge(host, recorded, tmp_path):
    changed = sampler_with(tmp_path / "changed", '"Seattle"', '"Portland"')
    removed = sampler_with(tmp_path / "removed", '"Seattle", "London"', '"Seattle"')

    input_changed = check_hub(host, changed, "--prefix", recorded[0])
    step_removed = check_hub(host, removed, "--prefix", recorded[0])

    assert input_changed.returncode == 1
    assert "diverges at sequence number 1" in input_changed.stdout
    assert "code:    schedules activity 'say_hello' with input \"A in Portland\"" in (
        input_changed.stdout
    )
    assert step_removed.returncode == 1
    assert "diverges at sequence number 2" in step_removed.stdout
    assert "history: activity 'say_hello' with input \"A in London\"" in step_removed.stdout
    assert "code:    does not schedule it here" in step_removed.stdout


def test_a_step_asked_for_before_history_says_it_came_is_named(host, recorded, tmp_path):
    """Fanning the sequence out asks for all three greetings in the first episode; history
    scheduled the second only after the first completed."""
    app = sampler_with(
        tmp_path / "app",
        '    for city in ("Tokyo", "Seattle", "London"):\n' + " " * 8 + SEQUENCE + "\n",
        "    results = yield context.task_all(\n"
        '        [context.call_activity("say_hello", f"{name} in {city}")'
        ' for city in ("Tokyo", "Seattle", "London")]\n'
        "    )\n",
    )
    result = check_hub(host, app, "--prefix", recorded[0])

    assert result.returncode == 1
    assert "diverges at sequence number 1" in result.stdout
    assert "history: activity 'say_hello' with input \"A in Seattle\", recorded later" in (
        result.stdout
    )
    assert "here, before history says it came" in result.stdout


def test_a_step_after_the_end_of_the_history_and_a_log_line_pass(host, recorded, tmp_path):
    app = sampler_with(
        tmp_path / "app",
        SEQUENCE,
        SEQUENCE + '\n    logging.info("said hello")'
        '\n    results.append((yield context.call_activity("say_hello", "last")))',
        ("import json\n", "import json\nimport logging\n"),
    )
    result = check_hub(host, app, "--prefix", "rc-seq")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 diverged" in result.stdout


def test_exported_folders_are_a_source_and_a_stray_file_is_refused(host, recorded, tmp_path):
    folder = tmp_path / "histories"
    command("export", *recorded, "--hub", str(host.hub), "--out", str(folder))

    replayed = command("replay-check", "--app", str(SAMPLER), str(folder))
    (folder / "notes.json").write_text('{"hello": 1}')
    refused = command("replay-check", "--app", str(SAMPLER), str(folder))
    (folder / "notes.json").write_text('{"format": "devhost-history/1", "history": []}')
    empty = command("replay-check", "--app", str(SAMPLER), str(folder))

    assert replayed.returncode == 0 and "2 histories replayed" in replayed.stdout
    assert refused.returncode == 1
    assert "notes.json: not a history written by `devhost export`" in refused.stderr
    assert empty.returncode == 1
    assert "notes.json: needs instanceId, name and a history that starts" in empty.stderr
    assert "Traceback" not in refused.stderr + empty.stderr
