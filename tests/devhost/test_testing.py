"""devhost.testing as another project uses it: devhost/README.md's example, run by pytest in a
fresh folder whose app is the sampler, passes as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.devhost.support import DURABLE, SAMPLER


def readme_example() -> str:
    readme = (ROOT / "devhost" / "README.md").read_text()
    section = readme[readme.index("## Testing an app on devhost") :]
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


def test_libraries_named_in_the_ini_are_loaded_before_the_app_in_preloaded_hosts_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("DURABLE_PROBE_LIBRARY", "colorsys")  # nothing in devhost imports it
    pytester.makeini(f"[pytest]\ndevhost_app = {DURABLE}\ndevhost_preload_libraries = colorsys\n")
    pytester.makeconftest('pytest_plugins = ["devhost.testing"]')
    pytester.makepyfile(
        test_preloaded="""
import pytest
from devhost import preload

def probed(host):
    return host.http.get("/hooks/process").json()["probedBeforeTheApp"]

def test_only_the_forked_host_had_it(devhost_factory, tmp_path):
    env = {"DURABLE_DIR": str(tmp_path)}
    assert probed(devhost_factory(env=env)) is True
    assert probed(devhost_factory(env=env, preloaded=False)) is False
    with pytest.raises(RuntimeError, match="the forkserver has started"):
        preload.preload_libraries(["json"])
"""
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


def test_a_host_nobody_stopped_is_killed_when_the_test_process_ends(tmp_path):
    """multiprocessing waits at exit for every child that is not a daemon, so a forked host
    left running would keep pytest from ever ending; devhost.preload kills it instead."""
    script = tmp_path / "leaves_a_host_running.py"
    script.write_text(
        "import os\n"
        "from pathlib import Path\n"
        "from devhost.testing import DevHost, free_port\n"
        "if __name__ == '__main__':\n"
        "    host = DevHost(\n"
        f"        app=Path({str(DURABLE)!r}), hub=Path({str(tmp_path / 'hub.sqlite')!r}),\n"
        "        port=free_port(), args=[], preloaded=True,\n"
        f"        env={{**os.environ, 'DURABLE_DIR': {str(tmp_path)!r}}},\n"
        "    ).start()\n"
        "    print(host.process.pid)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    run = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )

    assert run.returncode == 0, run.stderr
    with pytest.raises(ProcessLookupError):  # gone, and reaped: not even a zombie is left
        os.kill(int(run.stdout), 0)
