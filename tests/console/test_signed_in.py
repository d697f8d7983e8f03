"""The console behind App Service Authentication (devhost --easyauth with the paths Azure serves
without sign-in, the actor field off as in Azure): it sends an unsigned-in visitor to sign in,
shows who is signed in, asks nobody's name, the platform records who acted, and it signs out."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.console.conftest import Console
from tests.console.stories import claim
from tests.e2e.conftest import App
from tests.infra.bicep_tree import literal, params, parse_file
from tests.infra.test_authentication import APP

SUPERVISOR = "grace@contoso.com"


def excluded_paths() -> list[str]:
    """The paths authsettingsV2 serves without sign-in in Azure (functionapp.bicep's default)."""
    default = params(parse_file(APP))["anonymousPaths"].default
    return [literal(item) for item in default.named_children]


@pytest.fixture(scope="module")
def signed(start_app) -> App:
    anonymous = [arg for path in excluded_paths() for arg in ("--easyauth-anonymous", path)]
    return start_app("--easyauth", *anonymous, ACCEPT_ACTOR_FIELD="false")


def claim_awaiting_decision(app: App, claim_id: str, policy: str) -> None:
    """An adjuster files a claim too large to approve automatically (through the API)."""
    with httpx.Client(base_url=app.host.base_url, timeout=30.0) as adjuster:
        form = {"name": "ada@contoso.com", "roles": "Claims.Adjuster"}
        assert adjuster.post("/.auth/login/aad", data=form).status_code == 302
        assert adjuster.post("/api/claims", json=claim(claim_id, policy)).status_code == 202
        app.host.wait_until(
            lambda: adjuster.get(f"/api/claims/{claim_id}").json()["stage"] == "awaiting_decision",
            message="the claim to wait for a decision",
        )


def approve(console: Console) -> None:
    """Approve the claim the console shows, and wait for it to complete."""
    form = console.find("#action-ClaimDecision")
    assert form.find_elements(By.NAME, "actor") == []
    Select(form.find_element(By.NAME, "decision")).select_by_visible_text("Approve")
    form.find_element(By.TAG_NAME, "button").click()
    console.wait(lambda d: console.text("#runtime-status") == "Completed", "the claim to complete")


def sign_in(console: Console, name: str, roles: list[str]) -> None:
    """The platform's sign-in page, as a person fills it, then back to the console."""
    base = console.app.host.base_url
    console.driver.get(f"{base}/.auth/login/aad?post_login_redirect_uri=/api/console")
    console.find("#name").send_keys(name)
    console.find("#roles").send_keys("\n".join(roles))
    console.find("#name").submit()
    console.wait(lambda d: "/api/console" in d.current_url, "back on the console")


def test_a_signed_in_supervisor_decides_without_naming_anyone(browser, signed: App):
    claim_awaiting_decision(signed, "CLM-S1", "POL-S1")
    console = Console(browser, signed)
    sign_in(console, SUPERVISOR, ["Claims.Supervisor"])
    console.wait(lambda d: console.text("#who") == f"Signed in as {SUPERVISOR}", "who is in")
    console.driver.get(console.url("#/instance/claim-CLM-S1"))
    approve(console)
    output = console.text("#output")
    assert SUPERVISOR in output and '"source": "principal"' in output
    assert console.csp_violations() == []


def test_a_visitor_is_sent_to_sign_in_comes_back_acts_as_themself_and_signs_out(
    browser, signed: App
):
    """In Azure the console page is served without sign-in but the API answers App Service's
    plain 401 (authsettingsV2: Return401, excludedPaths), so the page itself must offer the
    platform's sign-in (/.auth/login/aad) and return to the view it was opened at, key included.
    """
    claim_awaiting_decision(signed, "CLM-S2", "POL-S2")
    console = Console(browser, signed, key="the-function-key")
    console.open("#/instance/claim-CLM-S2")
    console.driver.delete_all_cookies()  # nobody is signed in, whoever used the browser before
    console.open("#/instance/claim-CLM-S2")
    console.wait(lambda d: console.text("#who") == "Not signed in", "the visitor to be told")
    assert console.find("#sign").text == "Sign in"
    console.find("#sign-in").click()

    console.find("#name").send_keys("lin@contoso.com")
    console.find("#roles").send_keys("Claims.Supervisor")
    console.find("#name").submit()
    console.wait(
        lambda d: d.current_url == console.url("#/instance/claim-CLM-S2"), "back on the claim"
    )
    console.wait(lambda d: console.text("#who") == "Signed in as lin@contoso.com", "who is in")
    approve(console)
    output = console.text("#output")
    assert "lin@contoso.com" in output and '"source": "principal"' in output

    sign_out = console.find("#sign")
    assert sign_out.text == "Sign out"
    sign_out.click()
    console.wait(lambda d: console.text("#who") == "Not signed in", "the visitor signed out")
    assert console.find("#sign-in").text == "Sign in"
    assert console.driver.current_url == console.url("#/instance/claim-CLM-S2")
    assert console.csp_violations() == []
