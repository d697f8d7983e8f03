"""Shared state of the local partner simulators: idempotency, an effects ledger, failure injection.

The simulators are local stand-ins for the real partners, used when a partner has no base URL.
They keep what they did in one SQLite file (setting SIMULATOR_STATE_PATH, default
`.devhost/simulator.sqlite`) so that a repeated idempotency key returns the stored result across
threads, processes and restarts, and so tests can read the ledger from outside the process:

    results   (partner, operation, idempotency_key) -> the JSON result first returned
    ledger    one row per effect: payout, message, reservation, booking, reservation_cancellation,
              booking_cancellation, order, inspection, compliance_document
    failures  how many calls each SIMULATOR_FAILURES rule has failed so far

Failure injection: SIMULATOR_FAILURES is a JSON object of rule -> count, a rule being
`<partner>.<operation>[:<subject>][!lost]`, e.g. {"carriers.book:FASTFREIGHT": 2}. The first
`count` matching calls fail with a retryable PartnerError before doing anything. With `!lost`
the call takes effect and is recorded, then raises a retryable timeout: the caller must retry with
the same key and gets the stored result, which is how idempotency is proven. Counts live in the
SQLite file, so they hold across activity retries in other threads or processes; `reset()` clears
them. A rule with a subject is spent before a rule without one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters import settings
from adapters.errors import PartnerError

PATH_SETTING = "SIMULATOR_STATE_PATH"
FAILURES_SETTING = "SIMULATOR_FAILURES"
DEFAULT_PATH = ".devhost/simulator.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    partner TEXT NOT NULL, operation TEXT NOT NULL, idempotency_key TEXT NOT NULL,
    result TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (partner, operation, idempotency_key)
);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, partner TEXT NOT NULL,
    reference TEXT NOT NULL, idempotency_key TEXT NOT NULL, detail TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_by_kind ON ledger (kind, reference);
CREATE TABLE IF NOT EXISTS failures (rule TEXT PRIMARY KEY, spent INTEGER NOT NULL);
"""

#: Open connections not in use, by process and state file, each with the identity of the file it
#: opened. Opening a connection per call costs more than the call itself, and in WAL mode closing
#: a file's last connection also checkpoints the log into the database and deletes it. Keyed by
#: process, so a forked child opens its own.
_idle: dict[tuple[int, Path], list[tuple[tuple[int, int], sqlite3.Connection]]] = {}
_idle_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A child forked while another thread held the lock would wait for it forever. The
    parent's connections stay as they are, unused: closing them here could checkpoint the
    parent's log under it."""
    global _idle_lock
    _idle_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Journal:
    """The open transaction an effect runs in: it records ledger rows and reads earlier ones."""

    def __init__(self, connection: sqlite3.Connection, partner: str, key: str) -> None:
        self._connection = connection
        self._partner = partner
        self._key = key

    def record(self, kind: str, reference: str, **detail: Any) -> None:
        """Add one effect to the ledger; `reference` is the id the partner handed out."""
        self._connection.execute(
            "INSERT INTO ledger (kind, partner, reference, idempotency_key, detail, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (kind, self._partner, reference, self._key, json.dumps(detail), _now()),
        )

    def find(self, kind: str, reference: str) -> list[dict]:
        """Earlier effects of `kind` about `reference`, oldest first."""
        rows = self._connection.execute(
            "SELECT detail FROM ledger WHERE kind = ? AND reference = ? ORDER BY seq",
            (kind, reference),
        )
        return [json.loads(detail) for (detail,) in rows]


def state_path() -> Path:
    """SIMULATOR_STATE_PATH, else `.devhost/simulator.sqlite` under the working directory, else
    (read-only app directory, as in a deployed package) the temp directory."""
    return _resolve(settings.get(PATH_SETTING), os.getcwd())


@functools.cache
def _resolve(configured: str | None, cwd: str) -> Path:
    """state_path for one setting and working directory, worked out once: resolving a path
    walks the file system."""
    if configured is not None:
        return (Path(cwd) / configured).resolve()
    default = (Path(cwd) / DEFAULT_PATH).resolve()
    nearest = default.parent if default.parent.exists() else default.parent.parent
    if os.access(nearest, os.W_OK):
        return default
    return Path(tempfile.gettempdir()) / default.name


def fraction(*parts: object) -> float:
    """A stable number in [0, 1) from `parts`: simulated values never change between runs."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def reference(prefix: str, *parts: object) -> str:
    """A stable id such as "PAY-3F2A9C01B7D4" derived from `parts` (an idempotency key, say)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return f"{prefix}-{digest[:12].upper()}"


def guard(partner: str, operation: str, subjects: Iterable[str] = ()) -> None:
    """Fail the call if a SIMULATOR_FAILURES rule says so; otherwise do nothing."""
    rule = _spend(partner, operation, subjects, lost=False)
    if rule:
        raise PartnerError(partner, f"simulated outage ({FAILURES_SETTING} rule {rule!r})", True)


def perform(
    partner: str,
    operation: str,
    key: str,
    subjects: Iterable[str],
    act: Callable[[Journal], dict],
) -> dict:
    """Run an effect at most once per idempotency key and return its (stored) result.

    `act` records its effect through the Journal and returns the result; it runs inside one
    short write transaction, so concurrent calls with the same key see a single effect.
    """
    if not key:
        raise PartnerError(partner, f"{operation} needs an idempotency key", retryable=False)
    subjects = [str(subject) for subject in subjects]
    guard(partner, operation, subjects)
    with _transaction() as connection:
        row = connection.execute(
            "SELECT result FROM results"
            " WHERE partner = ? AND operation = ? AND idempotency_key = ?",
            (partner, operation, key),
        ).fetchone()
        if row:
            result = json.loads(row[0])
        else:
            result = act(Journal(connection, partner, key))
            connection.execute(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?)",
                (partner, operation, key, json.dumps(result), _now()),
            )
    rule = _spend(partner, operation, subjects, lost=True)
    if rule:
        message = f"simulated timeout after {operation} took effect ({FAILURES_SETTING} {rule!r})"
        raise PartnerError(partner, message, retryable=True)
    return result


def ledger(kind: str | None = None, path: str | Path | None = None) -> list[dict]:
    """Recorded effects, oldest first, each `{seq, kind, partner, reference, idempotencyKey,
    recordedAt, **detail}`; `kind` filters ("payout", "booking", ...)."""
    query = "SELECT seq, kind, partner, reference, idempotency_key, detail, created_at FROM ledger"
    args: tuple = ()
    if kind is not None:
        query, args = query + " WHERE kind = ?", (kind,)
    with _transaction(path, write=False) as connection:
        rows = connection.execute(query + " ORDER BY seq", args).fetchall()
    return [
        {
            "seq": seq,
            "kind": kind_,
            "partner": partner,
            "reference": reference,
            "idempotencyKey": key,
            "recordedAt": created_at,
            **json.loads(detail),
        }
        for seq, kind_, partner, reference, key, detail, created_at in rows
    ]


def reset(path: str | Path | None = None) -> None:
    """Forget every stored result, effect and spent failure count."""
    with _transaction(path) as connection:
        for table in ("results", "ledger", "failures"):
            connection.execute(f"DELETE FROM {table}")


def _rules() -> dict[str, int]:
    raw = settings.get(FAILURES_SETTING)
    if raw is None:
        return {}
    try:
        rules = json.loads(raw)
        return {str(rule): int(count) for rule, count in rules.items()}
    except (ValueError, TypeError, AttributeError):
        raise ValueError(
            f"{FAILURES_SETTING} must be a JSON object of rule -> count, got {raw!r}"
        ) from None


def _spend(partner: str, operation: str, subjects: Iterable[str], lost: bool) -> str | None:
    """Spend one failure from the first matching rule that has some left; return that rule."""
    rules = _rules()
    if not rules:
        return None
    suffix = "!lost" if lost else ""
    base = f"{partner}.{operation}"
    candidates = [f"{base}:{subject}{suffix}" for subject in subjects] + [base + suffix]
    candidates = [rule for rule in candidates if rules.get(rule, 0) > 0]
    if not candidates:
        return None
    with _transaction() as connection:
        for rule in candidates:
            row = connection.execute("SELECT spent FROM failures WHERE rule = ?", (rule,))
            spent = (row.fetchone() or (0,))[0]
            if spent < rules[rule]:
                connection.execute(
                    "INSERT INTO failures VALUES (?, ?) ON CONFLICT (rule) DO UPDATE"
                    " SET spent = excluded.spent",
                    (rule, spent + 1),
                )
                return rule
    return None


@contextmanager
def _transaction(
    path: str | Path | None = None, write: bool = True
) -> Iterator[sqlite3.Connection]:
    """One short transaction on a connection of this process's: safe across threads and
    processes. A connection whose transaction did not end cleanly is closed, not kept."""
    file = Path(path).resolve() if path is not None else state_path()
    identity, connection = _borrow(file)
    try:
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        if connection.in_transaction:
            connection.close()
        else:
            _give_back(file, identity, connection)


def _borrow(file: Path) -> tuple[tuple[int, int], sqlite3.Connection]:
    """A kept connection to the file now at `file`, or a new one. Kept connections to a file
    since deleted (a reset from outside) are closed: the next call makes a new file."""
    identity = _identity(file)
    with _idle_lock:
        kept = _idle.setdefault((os.getpid(), file), [])
        while kept:
            opened, connection = kept.pop()
            if opened == identity:
                return identity, connection
            connection.close()
    file.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(file, timeout=30.0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout = 30000")
    connection.execute("PRAGMA synchronous = NORMAL")  # WAL: safe against crashes, not power loss
    connection.execute("PRAGMA journal_mode = WAL")
    connection.executescript(SCHEMA)
    return _identity(file), connection


def _give_back(file: Path, identity: tuple[int, int], connection: sqlite3.Connection) -> None:
    with _idle_lock:
        _idle.setdefault((os.getpid(), file), []).append((identity, connection))


def _identity(file: Path) -> tuple[int, int]:
    """Which file is at `file` now: (device, inode), or (-1, -1) when there is none."""
    try:
        found = os.stat(file)
    except FileNotFoundError:
        return (-1, -1)
    return (found.st_dev, found.st_ino)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
