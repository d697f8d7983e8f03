"""Money comes in whole cents, from 0.01 to 100,000,000: nothing smaller, nothing in between.

A claim of `1e-320` was once accepted and approved for 0.00; `Money` (domain/common.py) now
refuses it, checking the cents on the number as written rather than with float arithmetic.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from domain.claims import ClaimRequest
from domain.common import Money

MONEY = TypeAdapter(Money)
CENTS_MAX = 100_000_000 * 100


@given(st.integers(min_value=1, max_value=CENTS_MAX))
def test_every_whole_cent_amount_is_money_as_sent(cents):
    amount = cents / 100
    assert MONEY.validate_python(amount) == amount


@given(st.integers(min_value=11, max_value=CENTS_MAX * 10).filter(lambda mills: mills % 10))
def test_an_amount_between_two_cents_is_not_money(mills):
    with pytest.raises(ValidationError, match="whole number of cents"):
        MONEY.validate_python(mills / 1000)


@pytest.mark.parametrize("amount", [120.5, 0.1, 19.99, 0.01, 0.07, 1, 100_000_000, 99_999_999.99])
def test_money(amount):
    assert MONEY.validate_python(amount) == amount


@pytest.mark.parametrize(
    "amount",
    [1e-320, 5e-324, 0.001, 0.015, 0.009, 0, -0.01, 100_000_000.01, 1e300, float("nan"),
     float("inf"), True, "12.50", None],
)  # fmt: skip
def test_not_money(amount):
    with pytest.raises(ValidationError):
        MONEY.validate_python(amount)


def test_a_claims_amount_is_money_and_says_so_in_its_schema():
    schema = ClaimRequest.model_json_schema(by_alias=True)["properties"]["amount"]
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("number", 0.01, 100_000_000)
    assert "multipleOf" not in schema and "cents" in schema["description"]
    assert "exclusiveMinimum" not in schema
    assert "cents" in (TypeAdapter(Money).json_schema().get("description") or "")
