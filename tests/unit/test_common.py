"""Shared rules: business ids, instance ids, stages, event decoding, problems."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.common import ProblemError, field_errors, validate
from domain.claims import ClaimRequest
from domain.common import Workflow, instance_id, is_business_id, parse_instance_id, stage_status
from orchestrators.inbox import decode_event

business_ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")


@given(st.sampled_from(list(Workflow)), business_ids)
def test_instance_ids_round_trip(workflow, business_id):
    assert parse_instance_id(instance_id(workflow, business_id)) == (workflow, business_id)
    assert instance_id(workflow, business_id) == f"{workflow.value}-{business_id}"


# The documented instance id rule the host enforces (DurableClient.StartNewAsync) and the
# project's own, tighter ceiling: 1-100 characters, no leading @, none of / \\ # ?, no control
# characters.
DOCUMENTED_ID_RULE = re.compile(r"[^@/\\#?\x00-\x1f\x7f-\x9f][^/\\#?\x00-\x1f\x7f-\x9f]{0,99}")


@given(st.sampled_from(list(Workflow)), business_ids)
def test_every_business_id_makes_an_instance_id_within_the_documented_rule(workflow, business_id):
    assert DOCUMENTED_ID_RULE.fullmatch(instance_id(workflow, business_id))


@given(st.text(alphabet=st.sampled_from("@/\\#?\x00\x1f\x7f\x85 aZ09-_"), min_size=1))
def test_a_business_id_breaking_the_documented_rule_is_refused(value):
    if not DOCUMENTED_ID_RULE.fullmatch(value) or len(value) > 64:
        assert not is_business_id(value)


@given(st.text())
def test_business_ids_follow_the_rule(value):
    expected = 1 <= len(value) <= 64 and all(
        c.isascii() and (c.isalnum() or c in "_-") for c in value
    )
    assert is_business_id(value) == expected


@pytest.mark.parametrize(
    "value", ["claim", "claim-", "other-X1", "maintenance-ORD:task:1", "x" * 70]
)
def test_ids_that_are_not_workflow_instances(value):
    assert parse_instance_id(value) is None


def test_instance_id_refuses_a_bad_business_id():
    with pytest.raises(ValueError):
        instance_id(Workflow.CLAIM, "has space")


def test_stage_status_lists_the_events_accepted_now():
    assert stage_status("awaiting_decision", ("ClaimDecision",), escalated=True) == {
        "stage": "awaiting_decision",
        "waitingFor": ["ClaimDecision"],
        "escalated": True,
    }


@given(st.dictionaries(st.text(), st.integers() | st.text()))
def test_event_payloads_decode_whether_or_not_double_encoded(payload):
    assert decode_event(payload) == payload
    assert decode_event(json.dumps(payload)) == payload
    assert decode_event(json.dumps(json.dumps(payload))) == payload


def test_event_without_payload_is_an_empty_dict():
    assert decode_event(None) == {}
    assert decode_event("null") == {}


def test_validation_problems_name_every_field_in_wire_names():
    with pytest.raises(ProblemError) as error:
        validate(ClaimRequest, {"claimId": "", "amount": -1})
    problem = error.value.problem
    assert problem.status == 400
    fields = {e.field for e in problem.errors}
    assert {"claimId", "amount", "policyNumber", "claimant", "currency", "description"} <= fields


def test_field_errors_use_dotted_paths():
    with pytest.raises(ValidationError) as error:
        ClaimRequest.model_validate({"claimant": {"email": 3}})
    assert "claimant.email" in {e.field for e in field_errors(error.value)}
