"""devhost installs on its own: `pip install <the devhost folder>` in a fresh virtualenv beside a
small app of another project's, whose tests then run on devhost through the pytest plugin the
package registers, with no copy of this repository on the path.

Nothing is downloaded. The fresh venv reads this environment's site-packages through a .pth
file, so devhost's dependencies (and pip, setuptools and wheel for the build) resolve, and pip
installs with `--no-deps --no-build-isolation --no-index`. devhost is built from a copy of its
folder, as a clone would hold it, so the build leaves nothing in this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import ROOT

APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="greetings/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_greeting(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new("greeting", None, req.route_params["name"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def greeting(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("hello", context.get_input()))


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"Hello, {name}!"
"""

APP_TESTS = """
import subprocess
import sys
from pathlib import Path

import devhost


def test_devhost_comes_from_the_installed_package():
    assert Path(devhost.__file__).resolve().is_relative_to(Path(__file__).parent / "venv")


def test_the_starter_runs_the_greeting_to_its_end(devhost):
    started = devhost.http.post("/api/greetings/Ada")
    assert started.status_code == 202, started.text
    devhost.idle()

    final = devhost.status(started.json()["id"])
    assert final["runtimeStatus"] == "Completed"
    assert final["output"] == "Hello, Ada!"


def test_the_devhost_command_is_installed():
    command = Path(sys.executable).with_name("devhost")
    shown = subprocess.run([command, "--help"], capture_output=True, text=True, check=True)
    assert "replay-check" in shown.stdout
"""


def test_devhost_installs_with_pip_and_tests_another_app(tmp_path):
    source = tmp_path / "source" / "devhost"
    shutil.copytree(
        ROOT / "devhost", source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-*")
    )
    project = tmp_path / "greeter"
    project.mkdir()
    (project / "function_app.py").write_text(APP)
    (project / "host.json").write_text('{"version": "2.0"}')
    (project / "test_greeter.py").write_text(APP_TESTS)
    # Plugins of this environment that the app's tests do not need stay out; the pytest11
    # entry point of the installed devhost is what loads devhost.testing.
    (project / "pytest.ini").write_text(
        "[pytest]\naddopts = -p no:cacheprovider -p no:schemathesis -p no:anyio\n"
    )
    python = _fresh_venv(project / "venv")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PYTHONPATH")
    }
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", *offline, str(source)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    installed = Path(_site_packages(project / "venv")) / "devhost"
    rooms = {path.parent.name for path in (ROOT / "devhost").glob("*/__init__.py")}
    assert rooms <= {path.parent.name for path in installed.glob("*/__init__.py")}

    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "test_greeter.py"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout, tests.stdout


def _fresh_venv(folder: Path) -> Path:
    """A venv without pip of its own (ensurepip would take seconds) that sees this
    environment's packages after its own."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True)
    own = Path(_site_packages(folder))
    (own / "this_environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return folder / "bin" / "python"


def _site_packages(venv: Path) -> str:
    return sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
