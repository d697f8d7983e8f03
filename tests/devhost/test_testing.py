"""devhost.testing as another project uses it: the README's example, run by pytest in a fresh
folder whose app is the sampler, passes as written."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.devhost.support import DURABLE, SAMPLER


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Testing an app on devhost") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_passes_against_a_users_app(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # devhost itself, as if pip-installed
    pytester.makeini(f"[pytest]\ndevhost_app = {SAMPLER}\n")
    pytester.makepyfile(test_example=readme_example())

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)


def test_a_preloaded_host_is_the_process_a_fresh_start_makes(devhost_factory, tmp_path):
    """The plugin forks hosts from a preloaded forkserver; what the app sees, what the host
    prints and how it exits are those of `python -m devhost start`."""
    seen, codes, logs = {}, {}, {}
    for preloaded in (False, True):
        host = devhost_factory(
            DURABLE,
            env={"DURABLE_DIR": str(tmp_path), "DURABLE_GREETING": "hello"},
            preloaded=preloaded,
        )
        response = host.http.get("/hooks/process")
        assert response.status_code == 200, response.text
        seen[preloaded] = response.json()
        codes[preloaded] = host.stop()
        logs[preloaded] = host.log.read_text()

    assert seen[True] == seen[False]
    assert seen[True]["greeting"] == "hello"
    assert codes == {False: 0, True: 0}  # SIGTERM: a graceful stop
    assert all("Functions:" in log and "process: [GET]" in log for log in logs.values())
