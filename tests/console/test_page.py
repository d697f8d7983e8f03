"""How the console is served: from the app itself, with a Content-Security-Policy that lets no
inline or foreign script run, behind the function key like the rest of the API, with no key or
secret written into any of its files."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from api.console import CONSOLE_DIR
from tests.conftest import ROOT, example_settings
from tests.e2e.conftest import App, assert_problem


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_script += data.strip()


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def test_the_page_allows_only_this_origin_and_no_inline_script(app: App):
    response = app.http.get("/api/console")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    for directive in ("script-src", "style-src", "connect-src"):
        assert policy[directive] == ["'self'"], directive
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    page = _Tags()
    page.feed(response.text)
    assert page.inline_script == ""
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts and all(attrs.get("src", "").startswith("/api/console/") for attrs in scripts)
    handlers = [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on")]
    assert handlers == []
    assert "//" not in "".join(attrs.get("href") or "" for _, attrs in page.tags)


@pytest.mark.parametrize("name", ["app.js", "queue.js", "style.css"])
def test_assets_are_served_with_their_type_and_the_same_policy(app: App, name: str):
    response = app.http.get(f"/api/console/assets/{name}")
    assert response.status_code == 200
    expected = "text/css" if name.endswith(".css") else "text/javascript"
    assert response.headers["content-type"].startswith(expected)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.content == (CONSOLE_DIR / name).read_bytes()


@pytest.mark.parametrize("name", ["missing.js", "..%2Ffunction_app.py", ".hidden.js", "app.py"])
def test_nothing_but_console_files_is_served(app: App, name: str):
    response = app.http.get(f"/api/console/assets/{name}")
    assert response.status_code == 404
    assert "def " not in response.text and "Traceback" not in response.text


def test_no_console_file_loads_anything_from_another_origin():
    for path in sorted(CONSOLE_DIR.iterdir()):
        text = path.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path.name
        assert "https://" not in text, path.name


@pytest.fixture(scope="module")
def keyed(devhost_factory, tmp_path_factory) -> App:
    """The app under devhost with `--require-keys`, as the Functions host with keys runs it."""
    state = tmp_path_factory.mktemp("keyed") / "simulator.sqlite"
    env = {
        "TASKHUB_NAME": example_settings()["TASKHUB_NAME"],
        "SIMULATOR_FAILURES": "",
        "SIMULATOR_STATE_PATH": str(state),
    }
    return App(devhost_factory(ROOT, "--clock", "manual", "--require-keys", env=env), state)


def test_people_need_no_key_and_the_page_carries_none(keyed: App):
    """The app's routes are anonymous at the host (people sign in; nobody holds a function
    key); the Durable HTTP API still takes the system key, and no key is in the page."""
    keys = keyed.host.keys()
    assert keyed.http.get("/api/workflows").status_code == 200
    assert keyed.http.get("/runtime/webhooks/durabletask/instances").status_code == 401
    page = keyed.http.get("/api/console")
    assert page.status_code == 200
    secrets = [keys["master"], *keys.get("functionKeys", {}).values()]
    secrets += keys.get("systemKeys", {}).values()
    for name in ("index.html", "app.js", "api.js"):
        served = (
            page.text
            if name == "index.html"
            else keyed.http.get(f"/api/console/assets/{name}").text
        )
        assert not any(secret in served for secret in secrets), name
        assert "x-functions-key" not in served and "code=" not in served, name
    assert_problem(keyed.http.get("/api/console/assets/nothing.css"), 404)


def test_the_readme_links_the_console_and_shows_it():
    readme = (ROOT / "README.md").read_text()
    assert "(http://localhost:7071/api/console)" in readme
    images = re.findall(r"!\[[^\]]+\]\((docs/[\w.-]+\.png)\)", readme)
    assert "docs/console.png" in images
    for image in images:
        assert (ROOT / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
