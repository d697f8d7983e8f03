"""The task hub: one SQLite file holding instances, their history, entities and queued work.

Every state transition the host makes runs inside `TaskHub.transaction()`, so a crash
leaves either all of it or none of it. Work waiting to run lives in `messages`; a message
is deleted in the same transaction that records its effect, which is what makes results
exactly-once while the work itself (activities) stays at-least-once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,   -- Pending Running Suspended Completed Failed Terminated
    input           TEXT,            -- JSON text
    output          TEXT,            -- JSON text
    custom_status   TEXT,            -- JSON text
    parent_id       TEXT,            -- set for sub-orchestrations
    parent_task_id  INTEGER,
    execution_id    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         TEXT NOT NULL DEFAULT ''  -- orchestration version; '' when unversioned
);
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (created_at, id);
CREATE TABLE IF NOT EXISTS history (
    instance_id  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    event        TEXT NOT NULL,      -- one history event, as the SDK reads it
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (
    id          TEXT PRIMARY KEY,    -- @name@key
    name        TEXT NOT NULL,
    key         TEXT NOT NULL,
    state       TEXT,                -- JSON text
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    queue       TEXT NOT NULL CHECK (queue IN ('orchestrator', 'activity', 'entity')),
    target      TEXT NOT NULL,       -- instance id, or entity id for the entity queue
    body        TEXT NOT NULL,       -- JSON
    visible_at  REAL NOT NULL        -- epoch seconds; timers are messages from the future
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at, id);
CREATE INDEX IF NOT EXISTS messages_by_target ON messages (target);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue, id);
CREATE TABLE IF NOT EXISTS clock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),  -- a single row
    mode       TEXT NOT NULL CHECK (mode IN ('real', 'manual', 'auto')),  -- of the last run
    host_time  TEXT NOT NULL     -- the latest host time reached (ISO UTC); never moves back
);
CREATE TABLE IF NOT EXISTS timer_status (  -- the timer triggers' schedule monitor
    function      TEXT PRIMARY KEY,
    last          TEXT NOT NULL,  -- ISO; 0001-01-01 until it first ran
    next          TEXT NOT NULL,  -- the occurrence it waits for
    last_updated  TEXT NOT NULL
);
"""
# Orchestrator messages wait while their instance is suspended, except the resume and the
# terminate events that override suspension (DurableTask.Core TaskOrchestrationExecutor);
# every other message is runnable.
RUNNABLE = (
    "NOT (queue = 'orchestrator'"
    " AND target IN (SELECT id FROM instances WHERE status = 'Suspended')"
    " AND coalesce(json_extract(body, '$.event.EventType'), -1) NOT IN (3, 20))"
)

TERMINAL = ("Completed", "Failed", "Terminated")
#: Every runtime status an instance has in the hub.
STATUSES = ("Pending", "Running", "Suspended", *TERMINAL)


@dataclass(frozen=True)
class Instance:
    id: str
    name: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    parent_id: str | None
    parent_task_id: int | None
    execution_id: str
    created_at: str
    updated_at: str
    version: str = ""

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class Message:
    id: int
    queue: str
    target: str
    body: dict[str, Any]
    visible_at: float


@dataclass(frozen=True)
class InstanceQuery:
    statuses: tuple[str, ...] = ()
    created_from: str | None = None
    created_to: str | None = None
    prefix: str | None = None
    name: str | None = None
    limit: int | None = None
    after: str | None = None  # continuation: "created_at|id" of the last row returned


SYNC_MODES = ("full", "normal")
"""SQLite's `synchronous` in WAL mode. full: a commit is on the disk before it is answered, so it
survives the machine's crash. normal: it is in the operating system's hands, so it survives the
host's crash or SIGKILL but not the machine's, without an fsync per commit."""


class TaskHub:
    """Synchronous access to the hub file; one instance per thread that uses it."""

    def __init__(self, path: Path | str, sync: str = "full") -> None:
        if sync not in SYNC_MODES:
            raise ValueError(f"sync must be one of {', '.join(SYNC_MODES)}, not {sync!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={sync.upper()}")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(SCHEMA)
        self._add_missing_columns()

    @property
    def sync(self) -> str:
        """The connection's `synchronous` as SQLite reports it back (full or normal)."""
        level = self.db.execute("PRAGMA synchronous").fetchone()[0]
        return ("off", "normal", "full", "extra")[level]

    def _add_missing_columns(self) -> None:
        """Hub files written before a column existed gain it, so old hubs keep working."""
        present = {row[1] for row in self.db.execute("PRAGMA table_info(instances)")}
        if "version" not in present:
            self.db.execute("ALTER TABLE instances ADD COLUMN version TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[TaskHub]:
        """One atomic, durable state transition."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- instances ---------------------------------------------------------------------------

    def instance(self, instance_id: str) -> Instance | None:
        row = self.db.execute(
            "SELECT id, name, status, input, output, custom_status, parent_id, parent_task_id,"
            " execution_id, created_at, updated_at, version FROM instances WHERE id = ?",
            (instance_id,),
        ).fetchone()
        return Instance(*row) if row else None

    def status(self, instance_id: str) -> str | None:
        """The runtime status alone: what an operation checks, without the instance's input,
        output and custom status (raising an event reads it for every event)."""
        row = self.db.execute("SELECT status FROM instances WHERE id = ?", (instance_id,))
        found = row.fetchone()
        return found[0] if found else None

    def put_instance(self, instance: Instance) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO instances (id, name, status, input, output, custom_status,"
            " parent_id, parent_task_id, execution_id, created_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                instance.id,
                instance.name,
                instance.status,
                instance.input,
                instance.output,
                instance.custom_status,
                instance.parent_id,
                instance.parent_task_id,
                instance.execution_id,
                instance.created_at,
                instance.updated_at,
                instance.version,
            ),
        )

    def update_instance(self, instance_id: str, **columns: Any) -> None:
        assignments = ", ".join(f"{column} = ?" for column in columns)
        self.db.execute(
            f"UPDATE instances SET {assignments} WHERE id = ?", (*columns.values(), instance_id)
        )

    def query_instances(self, query: InstanceQuery) -> list[Instance]:
        clauses: list[str] = []
        params: list[str | int] = []
        if query.statuses:
            clauses.append(f"status IN ({','.join('?' * len(query.statuses))})")
            params += list(query.statuses)
        if query.created_from:
            clauses.append("created_at >= ?")
            params.append(query.created_from)
        if query.created_to:
            clauses.append("created_at <= ?")
            params.append(query.created_to)
        if query.prefix:
            clauses.append("substr(id, 1, ?) = ?")
            params += [len(query.prefix), query.prefix]
        if query.name:
            clauses.append("name = ?")
            params.append(query.name)
        if query.after:
            created, _, last_id = query.after.partition("|")
            clauses.append("(created_at, id) > (?, ?)")
            params += [created, last_id]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        limit = f"LIMIT {int(query.limit)}" if query.limit else ""
        rows = self.db.execute(
            "SELECT id, name, status, input, output, custom_status, parent_id, parent_task_id,"
            f" execution_id, created_at, updated_at, version FROM instances {where}"
            f" ORDER BY created_at, id {limit}",
            params,
        ).fetchall()
        return [Instance(*row) for row in rows]

    def delete_instance(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM instances WHERE id = ?", (instance_id,))
        self.db.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))
        self.db.execute(
            "DELETE FROM messages WHERE target = ? AND queue != 'entity'", (instance_id,)
        )

    # -- history -----------------------------------------------------------------------------

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,)
        )
        return [json.loads(event) for (event,) in rows]

    def append_history(self, instance_id: str, start: int, events: list[dict[str, Any]]) -> None:
        self.db.executemany(
            "INSERT INTO history VALUES (?, ?, ?)",
            [(instance_id, start + n, json.dumps(event)) for n, event in enumerate(events)],
        )

    def clear_history(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))

    # -- entities ----------------------------------------------------------------------------

    def entity_state(self, entity_id: str) -> str | None:
        row = self.db.execute("SELECT state FROM entities WHERE id = ?", (entity_id,)).fetchone()
        return row[0] if row else None

    def entity_exists(self, entity_id: str) -> bool:
        return bool(self.db.execute("SELECT 1 FROM entities WHERE id = ?", (entity_id,)).fetchone())

    def put_entity(self, entity_id: str, name: str, key: str, state: str | None, at: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO entities VALUES (?, ?, ?, ?, ?)",
            (entity_id, name, key, state, at),
        )

    def delete_entity(self, entity_id: str) -> None:
        self.db.execute("DELETE FROM entities WHERE id = ?", (entity_id,))

    def entities(self) -> list[tuple[str, str, str, str | None, str]]:
        return self.db.execute("SELECT id, name, key, state, updated_at FROM entities").fetchall()

    # -- messages ----------------------------------------------------------------------------

    def enqueue(self, queue: str, target: str, body: dict[str, Any], visible_at: float) -> int:
        cursor = self.db.execute(
            "INSERT INTO messages (queue, target, body, visible_at) VALUES (?, ?, ?, ?)",
            (queue, target, json.dumps(body), visible_at),
        )
        assert cursor.lastrowid is not None, "an INSERT sets lastrowid"
        return cursor.lastrowid

    def ready(
        self,
        queue: str,
        now: float,
        limit: int,
        exclude: Collection[int] = (),
        skip_suspended: bool = False,
        busy: Collection[str] = (),
        targets: int | None = None,
    ) -> list[Message]:
        """Messages of one queue that are due, oldest first: none of the `exclude` ids and
        none for a `busy` target; with `targets`, only those of the first `targets` targets
        (in order of their oldest message), and no other body is parsed.

        The scan walks the queue in id order and stops at `limit` rows (`+visible_at` keeps
        SQLite from sorting every due message instead), so its cost does not grow with a
        backlog of due work."""
        where = "queue = ? AND +visible_at <= ?"
        params: list[Any] = [queue, now]
        if skip_suspended:
            where += f" AND {RUNNABLE}"
        if busy:
            where += f" AND target NOT IN ({','.join('?' * len(busy))})"
            params += busy
        if exclude:
            where += f" AND id NOT IN ({','.join('?' * len(exclude))})"
            params += exclude
        rows = self.db.execute(
            "SELECT id, target, body, visible_at FROM messages INDEXED BY messages_by_queue"
            f" WHERE {where} ORDER BY id LIMIT ?",
            (*params, limit),
        ).fetchall()
        chosen: set[str] = set()
        messages = []
        for message_id, target, body, visible_at in rows:
            if target not in chosen:
                if targets is not None and len(chosen) >= targets:
                    continue
                chosen.add(target)
            messages.append(Message(message_id, queue, target, json.loads(body), visible_at))
        return messages

    def delete_messages(self, ids: list[int]) -> None:
        self.db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])

    def take_message(self, message_id: int) -> bool:
        """Delete a message; False if it was no longer there."""
        return self.db.execute("DELETE FROM messages WHERE id = ?", (message_id,)).rowcount > 0

    def next_due(self, after: float) -> float | None:
        """When the next runnable message still in the future (a timer) becomes visible."""
        row = self.db.execute(
            f"SELECT MIN(visible_at) FROM messages WHERE visible_at > ? AND {RUNNABLE}", (after,)
        ).fetchone()
        due: float | None = row[0]  # MIN() over no rows is NULL
        return due

    def runnable_among(self, ids: set[int]) -> set[int]:
        """Which of these messages are still queued and runnable."""
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id FROM messages WHERE id IN ({marks}) AND {RUNNABLE}", tuple(ids)
        )
        return {row[0] for row in rows}

    def due_by_queue(self, now: float) -> dict[str, int]:
        """How many runnable messages are due at `now`, per queue (empty when none are)."""
        rows = self.db.execute(
            "SELECT queue, COUNT(*) FROM messages"
            f" WHERE visible_at <= ? AND {RUNNABLE} GROUP BY queue",
            (now,),
        )
        return dict(rows.fetchall())

    # -- the clock ---------------------------------------------------------------------------

    def clock_position(self) -> str | None:
        """The latest host time recorded (ISO UTC), if a host ever ran on this hub."""
        row = self.db.execute("SELECT host_time FROM clock WHERE id = 1").fetchone()
        return row[0] if row else None

    def save_clock(self, mode: str, host_time: str) -> None:
        """Record the clock's position; an earlier time than the one recorded is ignored."""
        self.db.execute(
            "INSERT INTO clock (id, mode, host_time) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE"
            " SET mode = excluded.mode, host_time = MAX(host_time, excluded.host_time)",
            (mode, host_time),
        )

    # -- timer triggers' schedule status -----------------------------------------------------

    def timer_statuses(self) -> dict[str, tuple[str, str, str]]:
        """(last, next, last_updated) of each monitored timer trigger, as recorded."""
        rows = self.db.execute("SELECT function, last, next, last_updated FROM timer_status")
        return {name: (last, next_, updated) for name, last, next_, updated in rows}

    def save_timer_status(self, function: str, last: str, next_: str, last_updated: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO timer_status (function, last, next, last_updated)"
            " VALUES (?, ?, ?, ?)",
            (function, last, next_, last_updated),
        )

    def pending_messages(self, target: str) -> list[Message]:
        rows = self.db.execute(
            "SELECT id, queue, target, body, visible_at FROM messages WHERE target = ? ORDER BY id",
            (target,),
        ).fetchall()
        return [Message(i, q, t, json.loads(b), v) for i, q, t, b, v in rows]
