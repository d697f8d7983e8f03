"""The command line: start's loading and errors, and instances / show / purge on a task hub."""

from __future__ import annotations

import shutil

import pytest

from devhost.cli import _parser
from devhost.testing import command, free_port
from tests.devhost.support import APPS, DURABLE, SAMPLER, WEBHOOKS, raise_event, run, start, unique


@pytest.fixture(scope="module")
def host(devhost_factory):
    return devhost_factory(SAMPLER)


@pytest.fixture(scope="module")
def instances(host) -> dict[str, str]:
    """One instance in each interesting state."""
    done = run(host, "hello_sequence", "cli", prefix="cli-done")["instanceId"]
    failed = run(host, "always_fails", prefix="cli-failed")["instanceId"]
    waiting = start(host, "approval", unique("cli-waiting"))
    host.wait_for(waiting, statuses=("Running",))
    return {"done": done, "failed": failed, "waiting": waiting}


def test_an_app_that_fails_to_import_exits_1_with_one_clear_line(tmp_path):
    result = command(
        "start", "--app", str(APPS / "broken"), "--port", str(free_port()),
        "--hub", str(tmp_path / "hub.sqlite"),
    )  # fmt: skip

    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    message = result.stderr.strip()
    assert "function_app.py failed to import" in message
    assert "database settings are missing" in message
    assert len(message.splitlines()) <= 2


def test_a_folder_without_function_app_exits_1(tmp_path):
    result = command("start", "--app", str(APPS / "empty"), "--hub", str(tmp_path / "h.sqlite"))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "no function_app.py" in result.stderr


def test_start_lists_functions_with_their_urls(host):
    log = host.log.read_text()

    base = f"http://localhost:{host.port}/api"
    assert f"echo: [GET,PUT] {base}/echo/{{kind:alpha}}/{{number:int}}/{{*rest}}" in log
    assert f"start: [POST] {base}/start/{{name}}/{{id?}}" in log
    assert "hello_sequence: orchestrationTrigger" in log
    assert "say_hello: activityTrigger" in log
    assert "counter: entityTrigger" in log


def test_hosts_the_test_fixture_starts_skip_the_fsync_and_the_banner_says_so(host):
    """The fixture passes `--sync normal`: test hubs are thrown away. The banner reports what
    SQLite itself says of the hub's connection."""
    assert f"in {host.hub} (clock: real, keys not checked, commits not fsynced, sync normal)" in (
        host.log.read_text()
    )


def test_settings_route_prefix_and_hub_name_come_from_the_app_folder(devhost_factory, tmp_path):
    # DURABLE_GREETING is set both here and in local.settings.json: the environment wins.
    other = devhost_factory(
        DURABLE, env={"DURABLE_GREETING": "from the environment", "DURABLE_DIR": str(tmp_path)}
    )

    assert other.http.get("/hooks/ping").text == "from the environment"
    assert other.http.get("/api/ping").status_code == 404
    started = other.http.post(f"{WEBHOOKS}/orchestrators/burst", json="1").json()
    assert "taskHub=durablehub&" in started["statusQueryGetUri"]
    other.stop()


def test_start_fsyncs_every_commit_unless_told_otherwise(devhost_factory, tmp_path):
    """`devhost start` keeps a hub through a crash of the machine unless `--sync normal` says
    the hub may be thrown away."""
    assert _parser().parse_args(["start"]).sync == "full"

    durable = devhost_factory(DURABLE, "--sync", "full", env={"DURABLE_DIR": str(tmp_path)})

    assert "(clock: real, keys not checked, commits fsynced)" in durable.log.read_text()


def test_instances_lists_a_table(host, instances):
    result = command("instances", "--hub", str(host.hub))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = ["ID", "NAME", "VERSION", "STATUS", "CUSTOM", "STATUS", "CREATED", "UPDATED"]
    assert lines[0].split() == header
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    # The sampler app sets no defaultVersion, so its instances are unversioned.
    assert rows[instances["done"]].split()[1:4] == ["hello_sequence", "-", "Completed"]
    assert rows[instances["failed"]].split()[1:4] == ["always_fails", "-", "Failed"]
    assert rows[instances["waiting"]].split()[1:4] == ["approval", "-", "Running"]
    assert '{"stage": "awaiting_approval"}' in rows[instances["waiting"]]
    assert lines[-1].endswith("instance(s)")


def test_instances_filters(host, instances):
    running = command("instances", "--hub", str(host.hub), "--status", "Running")
    named = command("instances", "--hub", str(host.hub), "--name", "always_fails")

    assert instances["waiting"] in running.stdout
    assert instances["done"] not in running.stdout
    assert instances["failed"] in named.stdout
    assert instances["waiting"] not in named.stdout


def test_show_prints_status_and_a_history_timeline(host, instances):
    result = command("show", "--hub", str(host.hub), instances["done"])

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "runtimeStatus: Completed" in out
    assert '"Hello cli in Tokyo!"' in out
    timeline = [line.split()[1] for line in out.split("History:")[1].splitlines() if line.strip()]
    assert timeline == [
        "ExecutionStarted",
        "TaskCompleted",
        "TaskCompleted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]


def test_show_an_unknown_instance_exits_1(host):
    result = command("show", "--hub", str(host.hub), "nobody-here")

    assert result.returncode == 1
    assert "nobody-here" in result.stderr
    assert "Traceback" not in result.stderr


def test_commands_on_a_missing_hub_exit_1(tmp_path):
    result = command("instances", "--hub", str(tmp_path / "missing.sqlite"))

    assert result.returncode == 1
    assert "no task hub" in result.stderr
    assert "Traceback" not in result.stderr


def test_default_hub_lives_in_the_app_folder_under_its_hub_name(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(DURABLE, app)

    result = command("instances", "--app", str(app))

    assert result.returncode == 1
    assert str(app / ".devhost" / "durablehub.sqlite") in result.stderr


def test_purge_by_status_and_age(host, instances):
    young = command("purge", "--hub", str(host.hub), "--older-than", "1")
    assert (young.returncode, young.stdout.strip()) == (0, "purged 0 instance(s)")

    result = command("purge", "--hub", str(host.hub), "--status", "Failed")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "purged 1 instance(s)"
    assert host.http.get(f"{WEBHOOKS}/instances/{instances['failed']}").status_code == 404
    assert host.http.get(f"{WEBHOOKS}/instances/{instances['done']}").status_code == 200
    # The running one is never purged, and still takes its event.
    assert raise_event(host, instances["waiting"], "Approval", "yes").status_code == 202
    assert host.wait_for(instances["waiting"])["output"] == {"approved": "yes"}
