"""What crosses a worker's pipe: each request the host sends, and the answers that come back.

One class per kind of work, so both ends dispatch on the message's type and a field that is
added, renamed or forgotten fails where it is built rather than in the other process. Each
request names the type of its answer (`Request[Decision | None]`), which `WorkerPool.call`
returns. The messages are plain frozen data: they pickle as they are, and the host reads them
without importing the SDK or the app.

The conversation: the worker first reports `Loaded` (or `LoadFailed`); then the host sends
lists of `Call`s and the worker answers with lists of `Answer`s, each list what one turn of
the sender's event loop produced. App failures are not failed answers: they travel as values
(an activity's Outcome, a failed Decision); a failed answer says devhost itself failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from devhost.app.loader import FunctionIndex
from devhost.durable.decisions import Decision, Outcome
from devhost.durable.entities import BatchOutcome

A = TypeVar("A")


class Request(Generic[A]):
    """Work for a worker whose answer is an `A`, under the id the host logs it with."""

    invocation_id: str


def new_invocation_id() -> str:
    """The id the host logs an invocation under and the function's `context` carries."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class HttpCall:
    """An HTTP request as the worker builds the function's `func.HttpRequest` from it."""

    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, str]
    route_params: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class HttpReply:
    """A function's reply, as the Python worker's `$return` http binding converts it and the
    host writes it: the headers in order, Content-Type among them, one `Set-Cookie` each."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Episode(Request[Decision | None]):
    """Replay one orchestrator episode. `known` is how many committed events the host believes
    the worker holds and `unseen` the committed events after those; `known == 0` replaces what
    it held (a new generation, a rewind). The answer is None when the worker no longer holds
    `known` events (it evicted them): the host then sends the whole history."""

    instance_id: str
    orchestrator: str
    parent_id: str | None
    input: str | None
    known: int
    unseen: list[dict[str, Any]]
    new: list[dict[str, Any]]
    invocation_id: str = field(default_factory=new_invocation_id)


@dataclass(frozen=True)
class Activity(Request[Outcome]):
    """Run one activity; `client_binding` is the JSON of a durableClient input binding."""

    name: str
    input: str | None
    client_binding: str | None
    invocation_id: str = field(default_factory=new_invocation_id)


@dataclass(frozen=True)
class EntityBatch(Request[BatchOutcome]):
    """Run a batch of operations on one entity (`requests`: the queued op, input, signal)."""

    name: str
    entity_id: str
    exists: bool
    state: str | None
    requests: list[dict[str, Any]]
    invocation_id: str = field(default_factory=new_invocation_id)


@dataclass(frozen=True)
class HttpTrigger(Request[HttpReply | str]):
    """Run an HTTP-triggered function; the answer is its reply, or the text of what it raised."""

    function: str
    call: HttpCall
    client_binding: str | None
    invocation_id: str = field(default_factory=new_invocation_id)


@dataclass(frozen=True)
class TimerTrigger(Request[str | None]):
    """Run a timer-triggered function with the TimerInfo JSON the host binds; the answer is
    the text of what it raised, or None. `reason` and `details` are what the host logs."""

    function: str
    info: str
    client_binding: str | None
    reason: str
    details: str | None
    invocation_id: str = field(default_factory=new_invocation_id)


#: A request on its way to the worker, under the id its answer comes back with. Calls and
#: answers are plain tuples: they cross the pipe in every round trip, and a tuple pickles in
#: a third of the time an object does.
Call = tuple[int, Request[Any]]
#: (call id, True, the answer), or (call id, False, how devhost itself failed in the worker).
Answer = tuple[int, bool, Any]


@dataclass(frozen=True)
class Loaded:
    """The worker imported the app: its functions, without their code."""

    index: FunctionIndex


@dataclass(frozen=True)
class LoadFailed:
    """The app cannot be loaded; `problem` says why."""

    problem: str
