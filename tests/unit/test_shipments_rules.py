"""Shipment rules: request validation, quote ranking, carrier choice and deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.shipments import (
    PICKUP_ESCALATION_AFTER,
    PickupWindow,
    Quote,
    ShipmentRequest,
    carrier_lock,
    is_eligible,
    pickup_deadline,
    pickup_escalation_at,
    rank_key,
    rank_quotes,
    select_carriers,
    transit_deadline,
)

START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
WINDOW = PickupWindow(start=START, end=START + timedelta(days=2))

quotes = st.builds(
    lambda **fields: Quote(**fields),
    carrier=st.sampled_from(["ACME", "BOLT", "CARGO", "DASH"]),
    quote_id=st.text("abc123", min_size=1, max_size=4),
    price=st.one_of(
        st.floats(min_value=-10, max_value=5000, allow_nan=False), st.just(float("inf"))
    ),
    currency=st.just("EUR"),
    capacity_pallets=st.integers(0, 40),
    pickup_date=st.dates(date(2030, 3, 2), date(2030, 3, 8)),
    transit_days=st.integers(0, 10),
)
pallets = st.integers(1, 40)


def body(**overrides) -> dict:
    base = {
        "shipmentId": "SHP-1",
        "origin": {"postalCode": "10115", "country": "DE"},
        "destination": {"postalCode": "75001", "country": "FR"},
        "pickupWindow": {"start": "2030-03-04T08:00:00Z", "end": "2030-03-04T12:00:00Z"},
        "pallets": 4,
        "weightKg": 1200.5,
    }
    return {**base, **overrides}


def error_fields(payload: dict) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        ShipmentRequest.model_validate(payload)
    return {".".join(map(str, error["loc"])) for error in caught.value.errors()}


def test_a_valid_request_round_trips_in_camel_case():
    request = ShipmentRequest.model_validate(body(carriers=["ACME"]))
    dumped = request.model_dump(mode="json", by_alias=True)
    assert dumped["pickupWindow"]["end"].startswith("2030-03-04T12:00")
    assert dumped["carriers"] == ["ACME"]
    assert request.weight_kg == 1200.5


def test_every_bad_field_is_named():
    fields = error_fields(
        body(
            shipmentId="bad id!", pallets=0, weightKg=0, origin={"postalCode": "", "country": "de"}
        )
    )
    assert fields == {"shipmentId", "pallets", "weightKg", "origin.postalCode", "origin.country"}


def test_pickup_window_must_end_after_it_starts():
    window = {"start": "2030-03-04T12:00:00Z", "end": "2030-03-04T12:00:00Z"}
    assert error_fields(body(pickupWindow=window)) == {"pickupWindow"}


def test_naive_times_and_unknown_fields_are_rejected():
    window = {"start": "2030-03-04T08:00:00", "end": "2030-03-04T12:00:00Z"}
    assert error_fields(body(pickupWindow=window, colour="red")) == {"pickupWindow.start", "colour"}


@given(st.lists(quotes, max_size=12), pallets)
def test_ranking_keeps_exactly_the_eligible_quotes(offered, needed):
    ranked = rank_quotes(offered, needed, WINDOW)
    assert all(is_eligible(quote, needed, WINDOW) for quote in ranked)
    assert sorted(map(rank_key, ranked)) == sorted(
        rank_key(q) for q in offered if is_eligible(q, needed, WINDOW)
    )


@given(st.lists(quotes, max_size=12), pallets)
def test_the_cheapest_eligible_quote_comes_first(offered, needed):
    ranked = rank_quotes(offered, needed, WINDOW)
    eligible = [q for q in offered if is_eligible(q, needed, WINDOW)]
    if eligible:
        assert ranked[0].price == min(q.price for q in eligible)
    else:
        assert ranked == []


@given(st.lists(quotes, max_size=12), pallets, st.randoms())
def test_ranking_does_not_depend_on_the_order_quotes_arrive(offered, needed, rnd):
    shuffled = list(offered)
    rnd.shuffle(shuffled)
    assert rank_quotes(shuffled, needed, WINDOW) == rank_quotes(offered, needed, WINDOW)


@given(quotes, quotes, quotes)
def test_rank_key_is_a_total_order(a, b, c):
    ka, kb, kc = rank_key(a), rank_key(b), rank_key(c)
    assert (ka <= kb) or (kb <= ka)  # total
    if ka == kb:  # ties only between offers of the same carrier under the same quote id
        assert (a.carrier, a.quote_id) == (b.carrier, b.quote_id)
    if ka <= kb and kb <= kc:  # transitive
        assert ka <= kc


@given(st.lists(quotes, min_size=1, max_size=12), pallets)
def test_ranked_quotes_are_in_non_decreasing_price(offered, needed):
    prices = [q.price for q in rank_quotes(offered, needed, WINDOW)]
    assert prices == sorted(prices)


def quote(**overrides) -> Quote:
    base = dict(
        carrier="ACME",
        quote_id="q1",
        price=100.0,
        currency="EUR",
        capacity_pallets=10,
        pickup_date=date(2030, 3, 4),
        transit_days=2,
    )
    return Quote(**{**base, **overrides})


@pytest.mark.parametrize(
    ("overrides", "eligible"),
    [
        ({}, True),
        ({"capacity_pallets": 3}, False),
        ({"capacity_pallets": 4}, True),
        ({"pickup_date": date(2030, 3, 3)}, False),
        ({"pickup_date": date(2030, 3, 6)}, True),
        ({"pickup_date": date(2030, 3, 7)}, False),
        ({"price": 0.0}, False),
        ({"price": float("nan")}, False),
    ],
)
def test_eligibility_needs_capacity_a_pickup_day_in_the_window_and_a_price(overrides, eligible):
    assert is_eligible(quote(**overrides), 4, WINDOW) is eligible


def test_equal_prices_prefer_the_faster_carrier_then_the_code():
    slow = quote(carrier="ACME", transit_days=5)
    fast = quote(carrier="DASH", transit_days=1)
    same_speed = quote(carrier="BOLT", transit_days=1)
    assert rank_quotes([slow, fast, same_speed], 1, WINDOW) == [same_speed, fast, slow]


def test_requested_carriers_narrow_the_configured_ones_in_configured_order():
    configured = ["ACME", "BOLT", "CARGO"]
    assert select_carriers(configured, None) == configured
    assert select_carriers(configured, ["CARGO", "ACME", "NOPE"]) == ["ACME", "CARGO"]
    assert select_carriers(configured, ["NOPE"]) == []


def test_carrier_lock_names_carrier_and_day():
    assert carrier_lock("ACME", date(2030, 3, 4)) == "carrier:ACME:2030-03-04"


def test_pickup_deadline_and_escalation():
    deadline = pickup_deadline(WINDOW, 30)
    assert deadline == WINDOW.end + timedelta(minutes=30)
    assert pickup_escalation_at(START, deadline) == START + PICKUP_ESCALATION_AFTER
    late_booking = deadline - timedelta(minutes=5)
    assert pickup_escalation_at(late_booking, deadline) is None


def test_transit_deadline_is_at_least_a_day():
    assert transit_deadline(START, 3) == START + timedelta(days=3)
    assert transit_deadline(START, 0) == START + timedelta(days=1)


def test_two_offers_under_one_quote_id_rank_the_same_whichever_arrives_first():
    """A carrier that answers twice under one quote id (a retried call) must not make the
    booking depend on which answer came back first: the roomier offer wins either way."""
    roomy, tight = quote(capacity_pallets=12), quote(capacity_pallets=5)
    assert rank_quotes([tight, roomy], 4, WINDOW) == rank_quotes([roomy, tight], 4, WINDOW)
    assert rank_quotes([tight, roomy], 4, WINDOW)[0] == roomy
