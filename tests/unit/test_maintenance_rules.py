"""Maintenance rules: order validation, the parts plan, task ids and approval follow-ups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.common import is_business_id, parse_instance_id
from domain.maintenance import (
    APPROVAL_ESCALATION_AFTER,
    APPROVAL_REMINDER_EVERY,
    MaintenanceOrderRequest,
    PartRequirement,
    SupplierOffer,
    aircraft_lock,
    approval_followup,
    needs_parts,
    plan_parts,
    task_instance_id,
)


def body(**overrides) -> dict:
    base = {
        "orderId": "MO-1",
        "tailNumber": "d-aibc",
        "aircraftType": "A320",
        "requestedBy": "ops@example.com",
        "tasks": [
            {
                "taskId": "T1",
                "description": "Replace brake",
                "parts": [{"partNumber": "BRK-100", "quantity": 2}],
            }
        ],
    }
    return {**base, **overrides}


def error_fields(payload: dict) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        MaintenanceOrderRequest.model_validate(payload)
    return {".".join(map(str, error["loc"])) for error in caught.value.errors()}


def test_a_valid_order_upper_cases_the_tail_number():
    order = MaintenanceOrderRequest.model_validate(body())
    assert order.tail_number == "D-AIBC"
    assert order.tasks[0].parts[0].quantity == 2


def test_every_bad_field_is_named():
    fields = error_fields(
        body(
            orderId="",
            tailNumber="!",
            aircraftType="",
            requestedBy=None,
            tasks=[
                {
                    "taskId": "T 1",
                    "description": "x",
                    "parts": [{"partNumber": "P", "quantity": 0}],
                }
            ],
        )
    )
    assert fields == {
        "orderId",
        "tailNumber",
        "aircraftType",
        "requestedBy",
        "tasks.0.taskId",
        "tasks.0.parts.0.quantity",
    }


def test_an_order_needs_tasks_with_unique_ids_and_parts():
    assert error_fields(body(tasks=[])) == {"tasks"}
    twice = {"taskId": "T1", "description": "x"}
    assert error_fields(body(tasks=[twice, twice])) == {"tasks"}
    part = {"partNumber": "P1", "quantity": 1}
    assert error_fields(body(tasks=[{**twice, "parts": [part, part]}])) == {"tasks.0.parts"}


def offer(supplier: str, part: str, available: int, lead: int) -> SupplierOffer:
    return SupplierOffer(
        supplier=supplier, part_number=part, available=available, lead_time_days=lead
    )


def test_stocked_parts_come_from_the_fastest_supplier_with_enough_units():
    need = [PartRequirement(part_number="P1", quantity=3)]
    offers = [offer("SLOW", "P1", 9, 5), offer("FAST", "P1", 2, 1), offer("MID", "P1", 3, 2)]
    [decision] = plan_parts(need, offers)
    assert (decision.action, decision.supplier) == ("in_stock", "MID")
    assert not needs_parts([decision])


def test_missing_parts_are_ordered_from_the_fastest_supplier_and_unknown_ones_are_unsourced():
    need = [
        PartRequirement(part_number="OOS-1", quantity=1),
        PartRequirement(part_number="P404", quantity=1),
    ]
    offers = [offer("B", "OOS-1", 0, 4), offer("A", "OOS-1", 0, 4), offer("C", "OOS-1", 0, 9)]
    ordered, unsourced = plan_parts(need, offers)
    assert (ordered.action, ordered.supplier, ordered.lead_time_days) == ("order", "A", 4)
    assert (unsourced.action, unsourced.supplier) == ("unsourced", None)
    assert needs_parts([ordered]) and needs_parts([unsourced])


part_numbers = st.sampled_from(["P1", "P2", "P3", "OOS-4"])
offers_st = st.lists(
    st.builds(
        offer, st.sampled_from(["A", "B", "C"]), part_numbers, st.integers(0, 5), st.integers(0, 10)
    ),
    max_size=12,
)
needs_st = st.lists(
    st.builds(
        lambda n, q: PartRequirement(part_number=n, quantity=q), part_numbers, st.integers(1, 5)
    ),
    unique_by=lambda p: p.part_number,
)


@given(needs_st, offers_st, st.randoms())
def test_the_plan_covers_each_part_once_and_ignores_answer_order(needs, offers, rnd):
    plan = plan_parts(needs, offers)
    assert [d.part_number for d in plan] == [p.part_number for p in needs]
    shuffled = list(offers)
    rnd.shuffle(shuffled)
    assert plan_parts(needs, shuffled) == plan


@given(needs_st, offers_st)
def test_in_stock_only_when_the_chosen_supplier_has_enough(needs, offers):
    for need, decision in zip(needs, plan_parts(needs, offers), strict=True):
        stocked = [
            o for o in offers if o.part_number == need.part_number and o.available >= need.quantity
        ]
        assert (decision.action == "in_stock") == bool(stocked)
        if stocked:
            assert decision.lead_time_days == min(o.lead_time_days for o in stocked)


def test_task_ids_are_derived_from_the_order_and_never_look_like_a_workflow():
    child = task_instance_id("maintenance-MO-1", "T1")
    assert child == "maintenance-MO-1:task:T1"
    assert parse_instance_id(child) is None
    assert not is_business_id(child.partition("-")[2])
    assert task_instance_id("maintenance-MO-1", "T1") != task_instance_id("maintenance-MO", "1-T1")


def test_aircraft_lock_names_the_tail():
    assert aircraft_lock("D-AIBC") == "aircraft:D-AIBC"


def test_approval_reminds_daily_and_escalates_once_after_72_hours():
    escalated, actions = False, []
    for tick in range(1, 6):
        action = approval_followup(tick * APPROVAL_REMINDER_EVERY, escalated)
        escalated = escalated or action == "escalate"
        actions.append(action)
    assert actions == ["remind", "remind", "escalate", "remind", "remind"]
    assert approval_followup(APPROVAL_ESCALATION_AFTER - timedelta(seconds=1), False) == "remind"


@given(st.integers(0, 10_000), st.booleans())
def test_escalation_only_after_the_threshold_and_never_twice(minutes, escalated):
    action = approval_followup(timedelta(minutes=minutes), escalated)
    if action == "escalate":
        assert not escalated and timedelta(minutes=minutes) >= APPROVAL_ESCALATION_AFTER
