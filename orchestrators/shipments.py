"""The shipment orchestrator: quote every carrier, book the best, follow pickup and delivery.

    quoting ──► booking ──► awaiting_pickup ──► in_transit ──► completed (delivered)
                  │               │
                  └► unbooked     └► missed_pickup       any stage ──Cancel──► cancelled

A `Cancel` event is honoured wherever the shipment waits: its one waiter (orchestrators/inbox.py)
is raced against every wait (quotes, pickup, delivery). Durable buffers an event raised before
anyone waits for it, and effects in flight (reserve, book) are let finish and then checked, so
whatever the carrier holds when the cancel lands is compensated: a reservation is cancelled, a
booking is cancelled. Deterministic code only: settings arrive through the `shipments_config`
activity, time from `context.current_utc_datetime`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import LongTimerTask, TaskBase, TimerTask

from domain.common import iso, to_json
from domain.shipments import (
    QUOTE_DEADLINE,
    Activity,
    Event,
    Outcome,
    Quote,
    ShipmentRequest,
    Stage,
    carrier_lock,
    pickup_deadline,
    pickup_escalation_at,
    rank_quotes,
    transit_deadline,
)
from orchestrators.common import (
    log,
    record_action,
    retry,
    set_stage,
    taken_actions,
)
from orchestrators.inbox import Inbox, Steps
from orchestrators.locking import LockPolicy, acquire_lock, holding_lock

bp = df.Blueprint()

QUOTE_RETRY = retry(attempts=3, first_interval=timedelta(seconds=5))
EFFECT_RETRY = retry(attempts=3, first_interval=timedelta(seconds=5))
CARRIER_LOCK = LockPolicy(
    lease=timedelta(minutes=1),
    deadline=timedelta(minutes=10),
    first_poll=timedelta(seconds=5),
    max_poll=timedelta(minutes=1),
)


class Cancelled(Exception):
    """The Cancel event won a wait; carries its decoded payload."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__("shipment cancelled")
        self.payload = payload


@bp.orchestration_trigger(context_name="context")
def shipment_orchestrator(context: df.DurableOrchestrationContext) -> Steps:
    """Run one shipment from quotes to delivery (input: the validated ShipmentRequest JSON)."""
    return (yield from ShipmentRun(context).run())


class ShipmentRun:
    """One shipment's state while it runs: what the carrier holds, so any exit can undo it."""

    def __init__(self, context: df.DurableOrchestrationContext) -> None:
        self.context = context
        self.id = context.instance_id
        self.request = ShipmentRequest.model_validate(context.get_input())
        self.inbox = Inbox.of(context)
        self.reservation: dict[str, Any] | None = None  # held, not yet booked
        self.booking: dict[str, Any] | None = None  # {carrier, bookingId, price, ...}
        self.timestamps: dict[str, str] = {"requestedAt": self.now_iso()}
        self.attempts: list[dict[str, Any]] = []
        self.escalations: list[str] = []
        self.actors: dict[str, Any] = {}

    # ---- the story -------------------------------------------------------------------------

    def run(self) -> Steps:
        try:
            yield from set_stage(self.context, Stage.QUOTING, [Event.CANCEL])
            # Raced like every wait, so a Cancel is honoured from the very first one.
            config = yield from self.outcome_of(
                self.context.call_activity_with_retry(
                    Activity.CONFIG, QUOTE_RETRY, {"carriers": self.request.carriers}
                )
            )
            quotes = yield from self.collect_quotes(config["carriers"])
            ranked = rank_quotes(quotes, self.request.pallets, self.request.pickup_window)
            yield from set_stage(self.context, Stage.BOOKING, [Event.CANCEL])
            for quote in ranked:
                if (yield from self.book(quote)):
                    break
            if self.booking is None:
                yield from self.notify("shipment_unbooked", quotes=len(quotes))
                return (yield from self.finish(Outcome.UNBOOKED))
            if not (yield from self.await_pickup(config["pickupGraceMinutes"])):
                return (yield from self.finish(Outcome.MISSED_PICKUP))
            yield from self.await_delivery()
            return (yield from self.finish(Outcome.DELIVERED))
        except Cancelled as cancelled:
            self.timestamps["cancelledAt"] = self.now_iso()
            self.actors["cancelledBy"] = cancelled.payload.get("actor")
            self.actors["cancelReason"] = cancelled.payload.get("reason")
            record_action(self.context, Event.CANCEL, cancelled.payload)
            yield from set_stage(self.context, Stage.COMPENSATING)
            yield from self.undo()
            return (yield from self.finish(Outcome.CANCELLED))

    def collect_quotes(self, carriers: Sequence[str]) -> Steps:
        """Ask every carrier at once; keep what arrives before QUOTE_DEADLINE.

        Waiting with `task_any` one answer at a time (rather than `task_all`, which fails on
        the first error) lets a carrier that still fails after its retries simply drop out.
        """
        shipment = to_json(self.request)
        tasks = [
            self.context.call_activity_with_retry(
                Activity.QUOTE, QUOTE_RETRY, {"carrier": code, "shipment": shipment}
            )
            for code in carriers
        ]
        deadline = self.context.create_timer(self.context.current_utc_datetime + QUOTE_DEADLINE)
        pending = list(tasks)
        while pending:
            if (yield from self.race([*pending, deadline])) is deadline:
                break
            pending = [task for task in pending if not task.is_completed]
        else:
            deadline.cancel()
        quotes = []
        for code, task in zip(carriers, tasks, strict=True):
            if task.is_completed and not isinstance(task.result, Exception):
                quotes.append(Quote.model_validate(task.result))
            else:
                self.attempts.append({"carrier": code, "step": "quote", "result": "no_quote"})
        log(self.context, "%d of %d carriers quoted", len(quotes), len(carriers))
        return quotes

    def book(self, quote: Quote) -> Steps:
        """Lock the carrier's day, reserve, book. False (and nothing held) when it fails."""
        resource = carrier_lock(quote.carrier, quote.pickup_date)
        lock = yield from acquire_lock(
            self.context, resource, CARRIER_LOCK, Stage.BOOKING, (Event.CANCEL,)
        )
        yield from set_stage(self.context, Stage.BOOKING, [Event.CANCEL], carrier=quote.carrier)
        if not lock.granted:
            self.attempt(quote, "book", "capacity_locked")
            return False
        return (yield from holding_lock(self.context, resource, self.reserve_and_book(quote)))

    def reserve_and_book(self, quote: Quote) -> Steps:
        """Reserve, then book, holding the carrier's lock; compensates a failed booking."""
        self.raise_if_cancelled()
        reserved = yield from self.effect(
            Activity.RESERVE,
            quote.carrier,
            quote=to_json(quote),
            idempotencyKey=f"{self.id}:reserve:{quote.carrier}:{quote.quote_id}",
        )
        if reserved is None:
            self.attempt(quote, "reserve", "failed")
            return False
        self.reservation = {"carrier": quote.carrier, **reserved}
        self.raise_if_cancelled()
        booked = yield from self.effect(
            Activity.BOOK,
            quote.carrier,
            reservationId=reserved["reservationId"],
            idempotencyKey=f"{self.id}:book:{quote.carrier}:{reserved['reservationId']}",
        )
        if booked is None:
            self.attempt(quote, "book", "failed")
            yield from self.undo()  # compensation: give the reserved capacity back
            return False
        self.reservation = None
        self.booking = {
            "carrier": quote.carrier,
            "bookingId": booked["bookingId"],
            "price": quote.price,
            "currency": quote.currency,
            "pickupDate": quote.pickup_date.isoformat(),
            "transitDays": quote.transit_days,
        }
        self.timestamps["bookedAt"] = self.now_iso()
        self.attempt(quote, "book", "booked")
        self.raise_if_cancelled()
        return True

    def await_pickup(self, grace_minutes: float) -> Steps:
        """Wait for PickupConfirmed: escalate once, give up at window end + grace.

        True when picked up; False after the booking was cancelled for a missed pickup.
        """
        waiting = [Event.PICKUP_CONFIRMED, Event.CANCEL]
        yield from set_stage(self.context, Stage.AWAITING_PICKUP, waiting)
        pickup = self.inbox.waiter(Event.PICKUP_CONFIRMED)
        deadline = pickup_deadline(self.request.pickup_window, grace_minutes)
        escalate_at = pickup_escalation_at(self.context.current_utc_datetime, deadline)
        while True:
            timer = self.context.create_timer(escalate_at or deadline)
            if (yield from self.race([pickup, timer])) is pickup:
                timer.cancel()
                break
            if escalate_at is not None:
                escalate_at = None
                yield from self.escalate("shipment_pickup_overdue")
                yield from set_stage(self.context, Stage.AWAITING_PICKUP, waiting, escalated=True)
                continue
            yield from set_stage(self.context, Stage.COMPENSATING)
            yield from self.undo()
            yield from self.notify("shipment_missed_pickup")
            return False
        self.timestamps["pickedUpAt"] = self.now_iso()
        confirmation = self.inbox.take(Event.PICKUP_CONFIRMED)
        self.actors["pickupConfirmedBy"] = confirmation.get("actor")
        record_action(self.context, Event.PICKUP_CONFIRMED, confirmation)
        return True

    def await_delivery(self) -> Steps:
        """Wait for Delivered; escalate once when the quoted transit time has passed."""
        waiting = [Event.DELIVERED, Event.CANCEL]
        yield from set_stage(self.context, Stage.IN_TRANSIT, waiting)
        delivered = self.inbox.waiter(Event.DELIVERED)
        assert self.booking is not None, "a shipment in transit is booked"
        due = transit_deadline(self.context.current_utc_datetime, self.booking["transitDays"])
        timer = self.context.create_timer(due)
        if (yield from self.race([delivered, timer])) is timer:
            yield from self.escalate("shipment_delivery_overdue")
            yield from set_stage(self.context, Stage.IN_TRANSIT, waiting, escalated=True)
            yield from self.race([delivered])
        else:
            timer.cancel()
        payload = self.inbox.take(Event.DELIVERED)
        self.timestamps["deliveredAt"] = self.now_iso()
        self.actors["deliveryConfirmedBy"] = payload.get("actor")
        self.actors["receivedBy"] = payload.get("receivedBy")
        record_action(self.context, Event.DELIVERED, payload)

    def finish(self, outcome: Outcome) -> Steps:
        """Publish the final stage and build the output."""
        self.timestamps["completedAt"] = self.now_iso()
        yield from set_stage(self.context, Stage.COMPLETED, outcome=outcome.value)
        booking = self.booking or {}
        return {
            "shipmentId": self.request.shipment_id,
            "outcome": outcome.value,
            "carrier": booking.get("carrier"),
            "bookingId": booking.get("bookingId"),
            "price": booking.get("price"),
            "currency": booking.get("currency"),
            "timestamps": self.timestamps,
            "attempts": self.attempts,
            "escalations": self.escalations,
            "actions": taken_actions(self.context),
            **{key: value for key, value in self.actors.items() if value is not None},
        }

    # ---- building blocks -------------------------------------------------------------------

    def race(self, tasks: Sequence[TaskBase]) -> Steps:
        """The first of `tasks` to finish; raises Cancelled when the Cancel event comes first.

        Checking the Cancel waiter before yielding matters: a task_any containing an already
        finished Cancel would still schedule the other tasks' actions.
        """
        cancel = self.inbox.waiter(Event.CANCEL)
        if not cancel.is_completed:
            winner = yield self.context.task_any([*tasks, cancel])
            if winner is not cancel:
                return winner
        for task in tasks:
            if isinstance(task, TimerTask | LongTimerTask) and not task.is_completed:
                task.cancel()
        raise Cancelled(self.inbox.take(Event.CANCEL))

    def outcome_of(self, task: TaskBase) -> Steps:
        """The result of `task` (raising its error), unless Cancel comes first."""
        yield from self.race([task])
        if isinstance(task.result, Exception):
            raise task.result
        return task.result

    def raise_if_cancelled(self) -> None:
        """Honour a Cancel that arrived while an effect was in flight."""
        if self.inbox.waiter(Event.CANCEL).is_completed:
            raise Cancelled(self.inbox.take(Event.CANCEL))

    def effect(self, activity: str, carrier: str, **payload: Any) -> Steps:
        """Run a carrier effect with retries; its result, or None when it still failed.

        Effects are not raced against Cancel: one that is in flight is let finish so that
        what it created is known and can be compensated.
        """
        try:
            return (
                yield self.context.call_activity_with_retry(
                    activity, EFFECT_RETRY, {"carrier": carrier, **payload}
                )
            )
        except Exception as error:  # the SDK raises a plain Exception after the last retry
            log(self.context, "%s with %s failed: %s", activity, carrier, error)
            return None

    def undo(self) -> Steps:
        """Compensate whatever the carrier holds for this shipment, newest first."""
        if self.booking is not None and "cancelledAt" not in self.booking:
            yield from self.cancel_with_carrier("booking", self.booking)
            self.booking["cancelledAt"] = self.now_iso()
            self.timestamps["bookingCancelledAt"] = self.booking["cancelledAt"]
        if self.reservation is not None:
            yield from self.cancel_with_carrier("reservation", self.reservation)
            self.attempts.append(
                {"carrier": self.reservation["carrier"], "step": "reserve", "result": "released"}
            )
            self.reservation = None

    def cancel_with_carrier(self, kind: str, held: dict[str, Any]) -> Steps:
        """Cancel a carrier's `booking` or `reservation` (idempotent per held id)."""
        id_field = f"{kind}Id"
        cancel = {"booking": Activity.CANCEL_BOOKING, "reservation": Activity.CANCEL_RESERVATION}
        yield self.context.call_activity_with_retry(
            cancel[kind],
            EFFECT_RETRY,
            {
                "carrier": held["carrier"],
                id_field: held[id_field],
                "idempotencyKey": f"{self.id}:cancel-{kind}:{held[id_field]}",
            },
        )

    def escalate(self, template: str) -> Steps:
        self.escalations.append(template)
        self.timestamps[f"{template}At"] = self.now_iso()
        yield from self.notify(template)

    def notify(self, template: str, **data: Any) -> Steps:
        """Tell the dispatcher; one message per template and instance, however often retried."""
        booking = self.booking or {}
        yield self.context.call_activity_with_retry(
            Activity.NOTIFY_DISPATCHER,
            EFFECT_RETRY,
            {
                "template": template,
                "idempotencyKey": f"{self.id}:notify:{template}",
                "data": {
                    "shipmentId": self.request.shipment_id,
                    "instanceId": self.id,
                    "carrier": booking.get("carrier"),
                    "bookingId": booking.get("bookingId"),
                    **data,
                },
            },
        )

    def attempt(self, quote: Quote, step: str, result: str) -> None:
        self.attempts.append({"carrier": quote.carrier, "step": step, "result": result})

    def now_iso(self) -> str:
        return iso(self.context.current_utc_datetime)
