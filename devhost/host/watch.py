"""Watch mode (`devhost start --watch`): new workers when the app's Python code changes.

A developer edits and retries without restarting devhost. The host, its task hub and the
instances in it stay; only the worker processes, which hold the app's code, are replaced
(WorkerPool.reload). host.json and local.settings.json are read once, at start, as the
Functions host reads them: a change to them is reported as needing a restart.
`watchfiles` waits on the kernel's file notifications, so watching costs nothing while nothing
changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import Change, awatch

log = logging.getLogger("devhost")

#: Folders in the app whose files are not app code: environments, devhost's own, tests.
IGNORED_FOLDERS = frozenset(
    {".venv", "venv", ".devhost", "__pycache__", ".git", "node_modules", "tests"}
)
#: Read at start only; a change to them is reported, not applied.
SETTINGS_FILES = frozenset({"host.json", "local.settings.json"})
#: A burst of saves (save-all, a formatter, a checkout) ends this long after its last change.
QUIET_MS = 200


class AppFiles:
    """The watch filter: Python files of the app, and its two settings files."""

    def __init__(self, app_dir: Path) -> None:
        self.app_dir = app_dir

    def relative(self, path: str) -> Path | None:
        """`path` inside the app folder, or None when it lies in an ignored folder."""
        try:
            relative = Path(path).relative_to(self.app_dir)
        except ValueError:
            return None
        return None if IGNORED_FOLDERS & set(relative.parts[:-1]) else relative

    def __call__(self, change: Change, path: str) -> bool:
        relative = self.relative(path)
        if relative is None:
            return False
        return relative.suffix == ".py" or str(relative) in SETTINGS_FILES


async def reload_on_change(
    app_dir: Path, reload: Callable[[list[str]], Awaitable[None]], stop: asyncio.Event
) -> None:
    """Call `reload` with the changed Python files after each burst of changes, until `stop`
    is set."""
    files = AppFiles(app_dir)
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # devhost says what changed
    try:
        async for changes in awatch(app_dir, watch_filter=files, step=QUIET_MS, stop_event=stop):
            changed = sorted({str(files.relative(path)) for _, path in changes})
            settings = [name for name in changed if name in SETTINGS_FILES]
            if settings:
                log.warning(
                    "%s changed: devhost reads it at start only; restart devhost to apply it",
                    " and ".join(settings),
                )
            code = [name for name in changed if name.endswith(".py")]
            if not code:
                continue
            try:
                await reload(code)
            except Exception:  # the watch goes on: the next save may reload
                log.exception("reloading the app failed; still serving the previous code")
    except OSError as problem:  # no file notifications here (a watch limit, a file system)
        log.error("watch mode is off: cannot watch %s: %s", app_dir, problem)
