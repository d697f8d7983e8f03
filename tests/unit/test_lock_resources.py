"""Lock ids: every resource a workflow locks matches LOCK_RESOURCE_RE, and nothing else does.

The resources are built from validated input (a claim's policy number, an order's tail number,
a quote's carrier code and pickup day); the ids are drawn from the models' own patterns, so a
model that widens its ids without the lock pattern following fails here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import StringConstraints, TypeAdapter

from domain.common import BusinessId
from domain.locks import LOCK_RESOURCE_EXAMPLE, is_lock_resource
from domain.maintenance import TailNumber, aircraft_lock
from domain.shipments import CarrierCode, carrier_lock


def ids(annotated: Any) -> st.SearchStrategy[str]:
    """Values the annotated string type accepts, drawn from its own pattern and validated by it
    (a tail number comes out upper-cased, as orders store it)."""
    [constraints] = [m for m in annotated.__metadata__ if isinstance(m, StringConstraints)]
    adapter = TypeAdapter(annotated)
    return st.from_regex(constraints.pattern, fullmatch=True).map(adapter.validate_python)


@given(ids(BusinessId))
def test_a_claims_policy_lock_is_a_lock_id(policy_number):
    assert is_lock_resource(f"policy:{policy_number}")


@given(ids(TailNumber))
def test_an_orders_aircraft_lock_is_a_lock_id(tail_number):
    assert is_lock_resource(aircraft_lock(tail_number))


@given(ids(CarrierCode), st.dates())
def test_a_carriers_day_lock_is_a_lock_id(carrier, day):
    assert is_lock_resource(carrier_lock(carrier, day))
    assert is_lock_resource(carrier_lock(carrier, day.isoformat()))


def test_the_example_in_the_404_is_a_lock_id():
    assert is_lock_resource(LOCK_RESOURCE_EXAMPLE)
    assert is_lock_resource(carrier_lock("FASTFREIGHT", date(2026, 12, 1)))


@pytest.mark.parametrize(
    "value",
    [
        "", "#", "?", "??", "..", "policy:", "policy:POL-1?x", "policy:POL-1#x", "policy:POL-1/x",
        "policy:POL-1\n", " policy:POL-1", "policy:POL.1", "policy:" + "P" * 65, "POL-1",
        "lock@policy:POL-1", "Policy:POL-1", "aircraft:d-aibc", "aircraft:D", "aircraft:D-AIBC:x",
        "carrier:FASTFREIGHT", "carrier:fastfreight:2026-12-01", "carrier:FASTFREIGHT:2026-1-01",
        "carrier:FASTFREIGHT:2026-13-01", "carrier:FASTFREIGHT:2026-12-32",
        "carrier:FASTFREIGHT:\u0662\u0660\u0662\u0666-12-01", "policy:POL-\u0661",
    ],
)  # fmt: skip
def test_anything_else_is_no_lock_id(value):
    assert not is_lock_resource(value)


SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:")


@given(st.text())
def test_a_lock_id_holds_nothing_a_url_would_read_otherwise(value):
    """No `?`, `#`, `/`, `%`, `.`, space or non-ASCII character: safe in an entity URL as is."""
    if is_lock_resource(value):
        assert set(value) <= SAFE
