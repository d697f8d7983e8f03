"""The console behind App Service Authentication (devhost --easyauth, the actor field off as in
Azure): it shows who is signed in, asks nobody's name, and the platform records who acted."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.console.conftest import Console
from tests.console.stories import claim
from tests.e2e.conftest import App

SUPERVISOR = "grace@contoso.com"


@pytest.fixture(scope="module")
def signed(start_app) -> App:
    return start_app("--easyauth", ACCEPT_ACTOR_FIELD="false")


def sign_in(console: Console, name: str, roles: list[str]) -> None:
    """The platform's sign-in page, as a person fills it, then back to the console."""
    base = console.app.host.base_url
    console.driver.get(f"{base}/.auth/login/aad?post_login_redirect_uri=/api/console")
    console.find("#name").send_keys(name)
    console.find("#roles").send_keys("\n".join(roles))
    console.find("#name").submit()
    console.wait(lambda d: "/api/console" in d.current_url, "back on the console")


def test_a_signed_in_supervisor_decides_without_naming_anyone(browser, signed: App):
    with httpx.Client(base_url=signed.host.base_url, timeout=30.0) as adjuster:
        form = {"name": "ada@contoso.com", "roles": "Claims.Adjuster"}
        assert adjuster.post("/.auth/login/aad", data=form).status_code == 302
        assert adjuster.post("/api/claims", json=claim("CLM-S1", "POL-S1")).status_code == 202
        signed.host.wait_until(
            lambda: adjuster.get("/api/claims/CLM-S1").json()["stage"] == "awaiting_decision",
            message="the claim to wait for a decision",
        )
    console = Console(browser, signed)
    sign_in(console, SUPERVISOR, ["Claims.Supervisor"])
    console.wait(lambda d: console.text("#who") == f"Signed in as {SUPERVISOR}", "who is in")
    console.driver.get(console.url("#/instance/claim-CLM-S1"))
    form = console.find("#action-ClaimDecision")
    assert form.find_elements(By.NAME, "actor") == []
    Select(form.find_element(By.NAME, "decision")).select_by_visible_text("Approve")
    form.find_element(By.TAG_NAME, "button").click()
    console.wait(lambda d: console.text("#runtime-status") == "Completed", "the claim to complete")
    output = console.text("#output")
    assert SUPERVISOR in output and '"source": "principal"' in output
    assert console.csp_violations() == []
