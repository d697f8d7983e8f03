"""The history files `devhost export` writes and `devhost replay-check` reads: one instance's
current generation per file, in the shape the task hub holds it, under a format name that
says which devhost wrote it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from devhost.durable.history import EventType

EXPORT_FORMAT = "devhost-history/1"


class ExportError(ValueError):
    """A file that is not a history `devhost export` wrote."""


@dataclass(frozen=True)
class Recorded:
    """One instance's history (its current generation), as the task hub holds it."""

    instance_id: str
    name: str
    history: list[dict[str, Any]]
    source: str = "task hub"

    def to_export(self, status: str, version: str) -> dict[str, Any]:
        return {
            "format": EXPORT_FORMAT,
            "instanceId": self.instance_id,
            "name": self.name,
            "version": version,
            "runtimeStatus": status,
            "history": self.history,
        }

    @classmethod
    def from_export(cls, path: Path) -> Recorded:
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ExportError(f"{path}: cannot read it as JSON: {error}") from error
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise ExportError(f"{path}: not a history written by `devhost export`")
        history = document.get("history")
        started = isinstance(history, list) and any(
            isinstance(e, dict) and e.get("EventType") == EventType.EXECUTION_STARTED
            for e in history
        )
        if not started or not document.get("instanceId") or not document.get("name"):
            raise ExportError(f"{path}: needs instanceId, name and a history that starts")
        events = cast(list[dict[str, Any]], history)  # JSON: a list, as checked above
        return cls(document["instanceId"], document["name"], events, str(path))


def exports_in(paths: list[Path]) -> Iterator[Recorded]:
    """Every exported history in `paths` (files, or folders searched for *.json), in order."""
    for path in paths:
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for file in files:
            yield Recorded.from_export(file)
