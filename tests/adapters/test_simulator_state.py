"""The simulators' shared state: idempotency, the ledger, failure injection, lost responses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adapters import simulator
from adapters.errors import PartnerError
from adapters.partners.carriers import SimulatedCarriers
from adapters.partners.compliance import SimulatedCompliance
from adapters.partners.notifications import SimulatedNotifications
from adapters.partners.payments import SimulatedPayments
from adapters.partners.suppliers import SimulatedSuppliers

ROOT = Path(__file__).resolve().parents[2]
PAYEE = {"name": "Ada Lovelace"}
SHIPMENT = {"shipmentId": "SHP-1", "pallets": 4, "weightKg": 800, "pickupWindow": {
    "start": "2030-05-04T08:00:00+00:00", "end": "2030-05-04T18:00:00+00:00"}}  # fmt: skip


def pay(key: str = "claim-CLM-1:payout", claim_id: str = "CLM-1") -> dict:
    return SimulatedPayments().pay(claim_id, 250.0, "EUR", PAYEE, key)


def fail(monkeypatch: pytest.MonkeyPatch, rules: dict[str, int]) -> None:
    monkeypatch.setenv("SIMULATOR_FAILURES", json.dumps(rules))


def reserve_and_book(carrier: str = "FASTFREIGHT") -> tuple[str, str]:
    sim = SimulatedCarriers()
    quote = sim.quote(carrier, SHIPMENT)
    reservation = sim.reserve(carrier, quote, f"rsv-{carrier}")["reservationId"]
    return reservation, sim.book(carrier, reservation, f"bkg-{carrier}")["bookingId"]


EFFECTS = [
    ("payout", lambda key: pay(key)),
    ("message", lambda key: SimulatedNotifications().send("a@b.example", "t", {"x": 1}, key)),
    ("reservation", lambda key: SimulatedCarriers().reserve("ATLAS", {"price": 1.0}, key)),
    ("order", lambda key: SimulatedSuppliers().order("AEROPARTS", "PN-1", 2, key)),
    ("inspection", lambda key: SimulatedCompliance().record_inspection({"orderId": "M"}, key)),
    ("compliance_document", lambda key: SimulatedCompliance().generate({"orderId": "M"}, [], key)),
]


@pytest.mark.parametrize(("kind", "effect"), EFFECTS, ids=[kind for kind, _ in EFFECTS])
def test_same_key_same_result_one_ledger_entry(kind, effect) -> None:
    first = effect("key-1")
    assert effect("key-1") == first
    assert first["simulated"] is True
    assert [entry["idempotencyKey"] for entry in simulator.ledger(kind)] == ["key-1"]
    assert effect("key-2") != first
    assert len(simulator.ledger(kind)) == 2


def test_ledger_entries_carry_the_effect() -> None:
    payout = pay()
    [entry] = simulator.ledger("payout")
    assert entry["payoutId"] == payout["payoutId"] == entry["reference"]
    assert (entry["claimId"], entry["amount"], entry["currency"]) == ("CLM-1", 250.0, "EUR")
    assert entry["payee"] == PAYEE and entry["partner"] == "payments"
    assert simulator.ledger("booking") == []
    assert [row["kind"] for row in simulator.ledger()] == ["payout"]


def test_ledger_reads_an_explicit_path(clean_environment: Path, monkeypatch) -> None:
    pay()
    monkeypatch.setenv("SIMULATOR_STATE_PATH", str(clean_environment.parent / "other.sqlite"))
    assert simulator.ledger("payout") == []
    assert len(simulator.ledger("payout", path=clean_environment)) == 1


def test_results_survive_other_processes(clean_environment: Path) -> None:
    script = (
        "from adapters.partners.payments import SimulatedPayments as P;"
        "print(P().pay('CLM-1', 250.0, 'EUR', {'name': 'Ada Lovelace'}, 'k')['payoutId'])"
    )
    env = {**os.environ, "SIMULATOR_STATE_PATH": str(clean_environment)}
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    assert pay("k")["payoutId"] == output
    assert len(simulator.ledger("payout")) == 1


def test_concurrent_threads_with_one_key_make_one_effect() -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: pay("shared"), range(64)))
    assert len({result["payoutId"] for result in results}) == 1
    assert len(simulator.ledger("payout")) == 1


def test_concurrent_processes_with_one_key_make_one_effect(clean_environment: Path) -> None:
    script = (
        "from adapters.partners.payments import SimulatedPayments as P\n"
        "for i in range(20):\n"
        "    P().pay('CLM-1', 250.0, 'EUR', {}, 'shared')\n"
        "    P().pay('CLM-1', 250.0, 'EUR', {}, f'own-{i}')\n"
    )
    env = {**os.environ, "SIMULATOR_STATE_PATH": str(clean_environment)}
    processes = [
        subprocess.Popen([sys.executable, "-c", script.replace("own-", f"own-{n}-")],
                         cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]  # fmt: skip
    # Each child runs until done: how long it takes on a loaded machine proves nothing.
    errors = [process.communicate()[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], errors
    keys = [entry["idempotencyKey"] for entry in simulator.ledger("payout")]
    assert keys.count("shared") == 1 and len(keys) == 1 + 4 * 20


def test_failure_rule_fails_the_first_n_calls(monkeypatch) -> None:
    fail(monkeypatch, {"payments.pay": 2})
    for _ in range(2):
        with pytest.raises(PartnerError, match="simulated outage") as caught:
            pay()
        assert caught.value.retryable is True
    assert simulator.ledger("payout") == []
    assert pay()["status"] == "issued"
    assert len(simulator.ledger("payout")) == 1


def test_failure_rule_with_subject_only_hits_that_subject(monkeypatch) -> None:
    reserve_and_book("ROADRUNNER")
    fail(monkeypatch, {"carriers.book:FASTFREIGHT": 2})
    sim = SimulatedCarriers()
    quote = sim.quote("FASTFREIGHT", SHIPMENT)
    fast = sim.reserve("FASTFREIGHT", quote, "rsv-fast")["reservationId"]
    for _ in range(2):
        with pytest.raises(PartnerError):
            sim.book("FASTFREIGHT", fast, "bkg-fast")
    assert sim.book("FASTFREIGHT", fast, "bkg-fast")["bookingId"]
    assert [row["carrier"] for row in simulator.ledger("booking")] == ["ROADRUNNER", "FASTFREIGHT"]


def test_subject_rule_is_spent_before_the_general_rule(monkeypatch) -> None:
    fail(monkeypatch, {"payments.pay": 1, "payments.pay:CLM-9": 1})
    with pytest.raises(PartnerError, match="CLM-9"):
        pay("a", "CLM-9")
    with pytest.raises(PartnerError, match=r"'payments\.pay'"):
        pay("a", "CLM-9")
    assert pay("a", "CLM-9")


def test_failure_counts_are_shared_across_threads(monkeypatch) -> None:
    fail(monkeypatch, {"notifications.send": 10})

    def attempt(n: int) -> bool:
        try:
            SimulatedNotifications().send("x@y.example", "t", {}, f"k{n}")
            return True
        except PartnerError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(30)))
    assert outcomes.count(False) == 10
    assert len(simulator.ledger("message")) == 20


def test_failure_counts_persist_in_the_state_file(monkeypatch, clean_environment) -> None:
    fail(monkeypatch, {"payments.pay": 1})
    with pytest.raises(PartnerError):
        pay()
    script = (
        "import adapters.partners.payments as p; p.SimulatedPayments().pay('C', 1, 'EUR', {}, 'k')"
    )
    env = {**os.environ, "SIMULATOR_STATE_PATH": str(clean_environment)}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    simulator.reset()
    with pytest.raises(PartnerError):
        pay()


def test_non_effectful_calls_can_fail_too(monkeypatch) -> None:
    fail(monkeypatch, {"carriers.quote:ATLAS": 1, "carriers.codes": 1})
    with pytest.raises(PartnerError):
        SimulatedCarriers().quote("ATLAS", SHIPMENT)
    with pytest.raises(PartnerError):
        SimulatedCarriers().codes()
    assert SimulatedCarriers().quote("ATLAS", SHIPMENT)["carrier"] == "ATLAS"


def test_lost_response_records_the_effect_then_times_out(monkeypatch) -> None:
    fail(monkeypatch, {"payments.pay!lost": 1})
    with pytest.raises(PartnerError, match="timeout") as caught:
        pay()
    assert caught.value.retryable is True
    [entry] = simulator.ledger("payout")
    retried = pay()
    assert retried["payoutId"] == entry["payoutId"]
    assert len(simulator.ledger("payout")) == 1


def test_lost_booking_with_subject(monkeypatch) -> None:
    fail(monkeypatch, {"carriers.book:FASTFREIGHT!lost": 1})
    with pytest.raises(PartnerError):
        reserve_and_book()
    _, booking = reserve_and_book()
    assert [row["bookingId"] for row in simulator.ledger("booking")] == [booking]
    assert len(simulator.ledger("reservation")) == 1


def test_invalid_failure_setting_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("SIMULATOR_FAILURES", "payments.pay=1")
    with pytest.raises(ValueError, match="SIMULATOR_FAILURES"):
        pay()


def test_effects_need_an_idempotency_key() -> None:
    with pytest.raises(PartnerError) as caught:
        pay("")
    assert caught.value.retryable is False


def test_reset_forgets_everything(monkeypatch) -> None:
    pay()
    simulator.reset()
    assert simulator.ledger() == []


def test_a_state_file_deleted_while_in_use_starts_afresh(clean_environment: Path) -> None:
    """Deleting the file (a developer's way to reset a running app's partners) is seen by the
    next call, which makes a new file rather than writing to the deleted one."""
    state = Path(os.environ["SIMULATOR_STATE_PATH"])
    first = pay()
    for leftover in state.parent.glob(state.name + "*"):  # the database, its log and index
        leftover.unlink()

    again = pay()  # the same key: the deleted file's stored result is gone with it

    assert again["payoutId"] == first["payoutId"]  # the reference derives from the key
    assert state.exists()
    assert len(simulator.ledger("payout", path=state)) == 1
