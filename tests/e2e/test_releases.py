"""Shipping orchestrator changes safely: the recorded histories of every workflow's main paths
replay against the code, an incompatible change is caught before it ships, compatible ones pass.

An incompatible change is one DurableTask.Core would reject on the instance's next replay
(`TaskOrchestrationContext.HandleTaskScheduledEvent`: "Was a change made to the orchestrator
code after this instance had already started running?"); docs/releases.md says what to do
instead. Each change below is made to a copy of the app, as a pull request would make it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from devhost.testing import command
from tests.conftest import ROOT, example_settings
from tests.histories import HISTORIES, PATHS

ASSESSING = "    yield from set_stage(context, Stage.ASSESSING)\n"
ENDED = '    log(context, "claim %s ended %s", result.claim_id, result.outcome.value)\n'
RECORDED = len(list(HISTORIES.rglob("*.json")))  # the paths, and older versions' kept beside


def replay_check(app: Path) -> subprocess.CompletedProcess[str]:
    return command(
        "replay-check",
        "--app",
        str(app),
        str(HISTORIES),
        env={"TASKHUB_NAME": example_settings()["TASKHUB_NAME"]},
        timeout=300,
    )


def app_with_claims_change(folder: Path, anchor: str, added: str, *, before: bool) -> Path:
    """A copy of the app whose claim orchestrator has `added` next to `anchor`."""
    shutil.copytree(
        ROOT,
        folder,
        ignore=shutil.ignore_patterns(
            ".git*", ".venv*", ".devhost", "tests", "bench", "infra", "docs", "__pycache__"
        ),
    )
    source = folder / "orchestrators" / "claims.py"
    code = source.read_text()
    assert code.count(anchor) == 1
    source.write_text(code.replace(anchor, added + anchor if before else anchor + added))
    return folder


def test_every_recorded_path_of_every_workflow_replays_against_the_current_code():
    for path, instance_ids in PATHS.items():
        recorded = {p.name for p in (HISTORIES / path).glob("*.json")}
        assert len(recorded) == len(instance_ids), f"{path}: run `make histories`"

    result = replay_check(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{RECORDED} histories replayed against the current code, 0 diverged" in result.stdout


def test_a_step_inserted_before_a_recorded_one_is_caught_with_both_sides_named(tmp_path):
    app = app_with_claims_change(
        tmp_path / "app",
        ASSESSING,
        '    yield from _notify(context, claim, "claim_assessing", "assessing")\n',
        before=False,
    )

    result = replay_check(app)

    assert result.returncode == 1
    report = result.stdout
    assert f"{RECORDED} histories replayed against the current code, 2 diverged" in report
    big = report[report.index("claim-CLM-BIG (claim_orchestrator, ") :]
    assert "diverges at sequence number" in big.splitlines()[0]
    assert "history: activity 'claims_extract_document' with input" in big.splitlines()[1]
    assert "code:    schedules activity 'claims_notify' with input" in big.splitlines()[2]
    assert "claim-CLM-SLOW (claim_orchestrator, " in report
    assert "shipment-SHP-HAPPY" not in report and "maintenance-MO-PARTS" not in report


@pytest.mark.parametrize(
    ("anchor", "added", "before"),
    [
        pytest.param(
            ASSESSING, '    log(context, "assessing %s", claim.claim_id)\n', False, id="log-line"
        ),
        pytest.param(
            ENDED,
            '    yield from _notify(context, claim, "claim_closed", "closed")\n',
            True,
            id="step-after-the-end-of-every-history",
        ),
        pytest.param(
            ASSESSING,
            '    if version_at_least(context, "3.0"):\n'
            '        yield from _notify(context, claim, "claim_assessing", "assessing")\n',
            False,
            id="branch-on-context-version",
        ),
    ],
)
def test_compatible_changes_replay_every_recorded_history(tmp_path, anchor, added, before):
    app = app_with_claims_change(tmp_path / "app", anchor, added, before=before)

    result = replay_check(app)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{RECORDED} histories replayed against the current code, 0 diverged" in result.stdout
