"""Idempotency-key records: first answer wins, kept 24 hours, bounded per instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.idempotency import (
    KEEP_FOR,
    MAX_KEYS,
    KeyRecords,
    Remembered,
    fingerprint,
    parse_key,
    recall,
    remember,
)

T0 = datetime(2026, 11, 29, 12, tzinfo=UTC)


def answer(at: datetime, status: int = 202) -> Remembered:
    return Remembered(fingerprint="f", status=status, body={"id": "x"}, at=at)


def test_a_key_recalls_its_first_answer_until_it_expires():
    records = remember(KeyRecords(), "k", answer(T0))
    assert recall(records, "k", T0 + KEEP_FOR - timedelta(seconds=1)) == answer(T0)
    assert recall(records, "k", T0 + KEEP_FOR) is None
    assert recall(records, "other", T0) is None


def test_the_first_answer_stays():
    records = remember(remember(KeyRecords(), "k", answer(T0)), "k", answer(T0, status=409))
    assert recall(records, "k", T0).status == 202


def test_expired_keys_are_dropped_and_at_most_max_keys_kept():
    records = remember(KeyRecords(), "old", answer(T0))
    for n in range(MAX_KEYS + 5):
        records = remember(records, f"k{n}", answer(T0 + KEEP_FOR + timedelta(seconds=n)))
    assert "old" not in records.keys and len(records.keys) == MAX_KEYS
    assert "k0" not in records.keys and f"k{MAX_KEYS + 4}" in records.keys


@pytest.mark.parametrize(
    ("header", "key"),
    [('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
     ("abc", "abc"), ("", None), ("a b", None), ("x" * 256, None)],
)  # fmt: skip
def test_keys_are_structured_field_strings_or_bare_tokens(header, key):
    assert parse_key(header) == key


def test_the_same_request_in_another_key_order_has_the_same_fingerprint():
    a = fingerprint("/api/x", "ada", {"a": 1, "b": [1, 2]})
    assert a == fingerprint("/api/x", "ada", {"b": [1, 2], "a": 1})
    assert a != fingerprint("/api/x", "bob", {"a": 1, "b": [1, 2]})
    assert a != fingerprint("/api/y", "ada", {"a": 1, "b": [1, 2]})
