"""Watch mode (`devhost start --watch`, what `make start` runs): an edit to the app's Python
code reaches the running host without a restart; instances in the task hub carry on.

The Functions host's FileMonitoringService.OnFileChanged (azure-functions-host) restarts the
host when host.json, a function.json or a file under host.json's `watchDirectories` changes,
and a restarted host starts new language workers, which import the code as it now is. devhost
keeps its host process and task hub and replaces only the workers (WorkerPool.reload): the
work they hold finishes first, as the Functions host drains invocations before a restart.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from watchfiles import Change

from devhost.host.watch import AppFiles
from tests.devhost.support import APPS, kinds

FIRST = "hello from the first version"
EDITED = "hello from the edited version"
ADDED_FUNCTIONS = """

TICKS: list[str] = []


@app.route(route="added", methods=["GET"])
def added(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("served by the edited code")


@app.timer_trigger(arg_name="timer", schedule="0 0 0 * * *")
def nightly(timer: func.TimerRequest) -> None:
    TICKS.append(timer.schedule_status["Next"])


@app.route(route="ticks", methods=["GET"])
def ticks(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(TICKS), mimetype="application/json")
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A copy of the watched app the test may edit."""
    return shutil.copytree(APPS / "watched", tmp_path / "app")


def set_greeting(app: Path, text: str) -> None:
    (app / "greeting.py").write_text(f"GREETING = {text!r}\n")


def add_functions(app: Path) -> None:
    with (app / "function_app.py").open("a") as script:
        script.write(ADDED_FUNCTIONS)


def served(host, path: str) -> str | None:
    """The body of a 200 answer to GET `path`, else None."""
    response = host.http.get(path)
    return response.text if response.status_code == 200 else None


def logged(host, text: str) -> bool:
    return text in host.log.read_text()


def test_an_edit_reaches_a_waiting_instance_without_restarting_the_host(devhost_factory, app):
    host = devhost_factory(app, "--watch", clock="manual")
    process = host.process
    instance = host.start_instance("greet_when_told")
    host.idle()  # the instance now waits for its event
    assert host.status(instance)["runtimeStatus"] == "Running"
    assert served(host, "/api/added") is None

    set_greeting(app, EDITED)
    add_functions(app)
    host.wait_until(lambda: served(host, "/api/added"), message="the edit's new route")

    assert served(host, "/api/greeting") == f'"{EDITED}"'
    host.raise_event(instance, "Go", "now")
    final = host.wait_for(instance, showHistory="true")
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == EDITED  # the activity ran the edited code
    assert kinds(final["historyEvents"]).count("ExecutionStarted") == 1  # the same run
    assert host.process is process and process.poll() is None  # the host never restarted
    # The timer trigger the edit added runs on the host's schedule.
    host.advance(days=1)
    assert len(host.http.get("/api/ticks").json()) == 1


def test_an_activity_running_during_the_reload_finishes_on_the_code_it_started_with(
    devhost_factory, app, tmp_path
):
    """The replaced worker answers the call it holds before it is closed: the activity runs
    once, to the end, rather than being cut off and run again on the new code."""
    host = devhost_factory(app, "--watch", clock="manual")
    paths = {"started": str(tmp_path / "started"), "release": str(tmp_path / "release")}
    running = host.start_instance("greet_when_released", paths)
    host.wait_until(lambda: Path(paths["started"]).exists(), message="the activity to start")

    set_greeting(app, EDITED)
    add_functions(app)
    host.wait_until(lambda: served(host, "/api/added"), message="the edit's new route")
    Path(paths["release"]).touch()

    final = host.wait_for(running, showHistory="true")
    assert final["output"] == FIRST
    assert kinds(final["historyEvents"]).count("TaskCompleted") == 1
    host.wait_until(
        lambda: logged(host, "closed 1 worker(s) running the previous code"),
        message="the previous worker to be closed",
    )
    assert host.wait_for(host.start_instance("greet_when_released", paths))["output"] == EDITED


def test_code_that_fails_to_import_leaves_the_previous_code_serving(devhost_factory, app):
    host = devhost_factory(app, "--watch", clock="manual")
    (app / "greeting.py").write_text("GREETING = (\n")
    host.wait_until(
        lambda: logged(host, "still serving the previous code"), message="the refused reload"
    )

    refusal = next(line for line in host.log.read_text().splitlines() if "still serving" in line)
    assert "function_app.py failed to import: SyntaxError" in refusal
    assert "greeting.py" in refusal  # the file to fix
    assert served(host, "/api/greeting") == f'"{FIRST}"'
    instance = host.start_instance("greet_when_told")
    host.raise_event(instance, "Go", "now")
    assert host.wait_for(instance)["output"] == FIRST

    set_greeting(app, EDITED)  # the fix is picked up like any other edit
    host.wait_until(lambda: served(host, "/api/greeting") == f'"{EDITED}"', message="the fix")


def test_a_schedule_azure_refuses_leaves_out_only_its_function_on_reload(devhost_factory, app):
    """As at start (test_timer_triggers): the host's indexing puts that one function in error
    and the rest of the edit goes live."""
    host = devhost_factory(app, "--watch", clock="manual")
    with (app / "function_app.py").open("a") as script:
        script.write(
            "\n\n@app.timer_trigger(arg_name='timer', schedule='every five minutes')\n"
            "def every_five(timer: func.TimerRequest) -> None:\n"
            "    pass\n"
        )
    set_greeting(app, EDITED)
    host.wait_until(lambda: logged(host, "reloaded the app"), message="the reload")

    assert logged(host, "The 'every_five' function is in error: ")
    assert served(host, "/api/greeting") == f'"{EDITED}"'


def test_a_settings_file_change_is_reported_as_needing_a_restart(devhost_factory, app):
    host = devhost_factory(app, "--watch", clock="manual")
    host_json = app / "host.json"
    host_json.write_text(host_json.read_text().replace('"watched"', '"renamed"'))
    host.wait_until(
        lambda: logged(host, "host.json changed: devhost reads it at start only"),
        message="the restart notice",
    )
    assert served(host, "/api/greeting") == f'"{FIRST}"'


@pytest.mark.parametrize(
    ("relative", "watched"),
    [
        ("function_app.py", True),
        ("activities/billing.py", True),
        ("host.json", True),
        ("local.settings.json", True),
        ("README.md", False),
        ("activities/host.json", False),
        (".venv/lib/python3.11/site-packages/six.py", False),
        (".devhost/hub.py", False),
        ("activities/__pycache__/billing.py", False),
        (".git/hooks/pre-commit.py", False),
        ("tests/test_billing.py", False),
    ],
)
def test_the_watch_takes_the_apps_python_files_and_settings_only(tmp_path, relative, watched):
    assert AppFiles(tmp_path)(Change.modified, str(tmp_path / relative)) is watched


def test_an_app_inside_a_folder_named_tests_is_still_watched(tmp_path):
    app = tmp_path / "tests" / "app"
    assert AppFiles(app)(Change.modified, str(app / "function_app.py")) is True
