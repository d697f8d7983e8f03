"""Every activity and event name is spelled once, as an enum member in domain/, and means a
function or an action the app really has."""

from __future__ import annotations

import pytest

from domain import claims, maintenance, shipments
from domain.locks import LockActivity
from domain.timeline import RECORD_STAGE_ACTIVITY
from domain.workflows import CONTRACTS
from tests.conftest import app_functions


def activity_functions() -> set[str]:
    """The names of the app's activity functions, as the host indexes them."""
    return {
        function.get_function_name()
        for function in app_functions()
        if any(binding.type == "activityTrigger" for binding in function.get_bindings())
    }


@pytest.mark.parametrize("enum", [claims.Activity, shipments.Activity, maintenance.Activity])
def test_each_workflows_activities_are_functions_of_the_app(enum):
    assert {member.value for member in enum} <= activity_functions()


def test_every_activity_of_the_app_has_one_name_in_domain():
    named = [
        m.value for e in (claims.Activity, shipments.Activity, maintenance.Activity) for m in e
    ]
    named += [member.value for member in LockActivity] + [RECORD_STAGE_ACTIVITY]
    assert len(named) == len(set(named))
    assert set(named) == activity_functions()


def test_every_event_of_a_workflow_is_one_of_its_contracts_actions():
    for contract in CONTRACTS.values():
        assert {str(action.event) for action in contract.actions} == {
            str(e) for e in contract.events
        }
