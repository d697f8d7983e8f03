"""The console behind App Service Authentication as in Azure (devhost --easyauth with the paths
the Bicep serves without sign-in, --require-keys, the actor field off): opened with no key, it
sends an unsigned-in visitor to sign in, shows who is signed in and with which roles, offers
only the actions those roles allow (saying which role a withheld one needs), asks nobody's
name, the platform records who acted, and it signs out."""

from __future__ import annotations

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
    return start_app("--easyauth", *anonymous, "--require-keys", ACCEPT_ACTOR_FIELD="false")


def claim_awaiting_decision(app: App, claim_id: str, policy: str) -> None:
    """An adjuster files a claim too large to approve automatically (through the API)."""
    with app.host.client() as adjuster:
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


def fill_sign_in(console: Console, name: str, roles: list[str]) -> None:
    """The platform's sign-in page, as a person fills it."""
    console.find("#name").send_keys(name)
    console.find("#roles").send_keys("\n".join(roles))
    console.find("#name").submit()


def test_a_signed_in_supervisor_decides_without_naming_anyone(browser, signed: App):
    claim_awaiting_decision(signed, "CLM-S1", "POL-S1")
    console = Console(browser, signed)
    console.driver.get(f"{signed.host.base_url}/.auth/login/aad")
    fill_sign_in(console, SUPERVISOR, ["Claims.Supervisor"])
    console.open("#/instance/claim-CLM-S1")
    who = f"Signed in as {SUPERVISOR} (Claims.Supervisor)"
    console.wait(lambda d: console.text("#who") == who, "who is in")
    approve(console)
    output = console.text("#output")
    assert SUPERVISOR in output and '"source": "principal"' in output
    assert console.csp_violations() == []


def test_a_visitor_is_sent_to_sign_in_comes_back_acts_as_themself_and_signs_out(
    browser, signed: App
):
    """In Azure the console page is served without sign-in but the API answers App Service's
    plain 401 (authsettingsV2: Return401, excludedPaths), so the page itself must offer the
    platform's sign-in (/.auth/login/aad) and return to the view it was opened at.
    """
    claim_awaiting_decision(signed, "CLM-S2", "POL-S2")
    console = Console(browser, signed)
    console.open("#/instance/claim-CLM-S2")
    console.driver.delete_all_cookies()  # nobody is signed in, whoever used the browser before
    console.open("#/instance/claim-CLM-S2")
    console.wait(lambda d: console.text("#who") == "Not signed in", "the visitor to be told")
    assert console.find("#sign").text == "Sign in"
    console.find("#sign-in").click()

    fill_sign_in(console, "lin@contoso.com", ["Claims.Supervisor"])
    console.wait(
        lambda d: d.current_url == console.url("#/instance/claim-CLM-S2"), "back on the claim"
    )
    who = "Signed in as lin@contoso.com (Claims.Supervisor)"
    console.wait(lambda d: console.text("#who") == who, "who is in")
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


def test_an_adjuster_is_not_offered_the_decision_and_is_told_which_role_it_needs(
    browser, signed: App
):
    claim_awaiting_decision(signed, "CLM-S3", "POL-S3")
    console = Console(browser, signed)
    console.driver.get(f"{signed.host.base_url}/.auth/login/aad")
    fill_sign_in(console, "ada@contoso.com", ["Claims.Adjuster"])
    console.open("#/instance/claim-CLM-S3")
    note = console.text("#withheld-ClaimDecision")
    assert note == "Decide the claim: needs the role Claims.Supervisor."
    assert console.driver.find_elements(By.ID, "action-ClaimDecision") == []
    assert console.text("#who") == "Signed in as ada@contoso.com (Claims.Adjuster)"
