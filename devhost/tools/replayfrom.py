"""`devhost replay-check --from URL`: replay the instances in flight in a running app (in Azure,
or a devhost standing in for it) against the orchestrator code here, before that code is
deployed there.

It lists the app's instances through the Durable HTTP API (Running, Pending and Suspended by
default), reads each one's history, rebuilds from the condensed form the API shows the
history its orchestrator replays (devhost/tools/condensed.py), and replays it as the local
replay-check does, running no activity. Only GET requests are sent; a handful at a time.
Exit code 0 when every instance replays, 1 when any diverges (each named with the step and
both sides), 2 when the app cannot be reached or answers anything but what the API answers
(a refused key or token, a missing route, a server error): never a pass.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from devhost.app.config import ConfigError, load_local_settings
from devhost.app.loader import load_app
from devhost.app.versioning import Versioning
from devhost.tools.condensed import CondensedError, replay
from devhost.tools.replaycheck import Divergence
from devhost.tools.webhook import Webhook, WebhookError

IN_FLIGHT = ("Running", "Pending", "Suspended")
KEY_VARIABLE = "REPLAY_CHECK_KEY"  # the key and token may come from the environment instead of
TOKEN_VARIABLE = "REPLAY_CHECK_TOKEN"  # the command line, where other processes can read them
PROGRESS_EVERY = 2.0  # seconds


@dataclass(frozen=True)
class Checked:
    """One instance in flight and how it replayed."""

    instance_id: str
    name: str
    divergence: Divergence | None = None
    pending: bool = False  # not started: no history yet, it runs the new code from its start


def replay_from(args: argparse.Namespace) -> int:
    try:
        return _replay_from(args)
    except (WebhookError, CondensedError, ConfigError) as problem:
        print(f"replay-check: {problem}", file=sys.stderr)
        return 2


def _replay_from(args: argparse.Namespace) -> int:
    if args.paths:
        raise ConfigError("--from replays the app's instances; give it no history files")
    app_dir = args.app.resolve()
    load_local_settings(app_dir)
    orchestrators = load_app(app_dir).orchestrators
    logging.getLogger().setLevel(logging.WARNING)  # replays re-run the app's own log lines
    # Code that diverges gets answers meant for other steps; the SDK warns of each.
    warnings.filterwarnings("ignore", "Potential duplicate Task completion", UserWarning)
    versions = args.version or [default_version(app_dir)]
    key, token = credentials(args)
    webhook = Webhook(args.from_url, key, token, retry_for=args.retry_for)
    try:
        checked = _check_all(webhook, orchestrators, versions, args)
    finally:
        webhook.close()
    report(checked, webhook.base, sys.stdout)
    if args.summary:
        with args.summary.open("a") as summary:
            summary.write(markdown(checked, webhook.base))
    return 1 if any(c.divergence for c in checked) else 0


def default_version(app_dir: Path) -> str:
    """host.json's defaultVersion: what new instances of this app carry ("" unversioned)."""
    try:
        document = json.loads((app_dir / "host.json").read_text())
    except (OSError, ValueError):
        return ""
    durable = document.get("extensions", {}).get("durableTask", {})
    return Versioning.from_host_json(durable).default_version or ""


def credentials(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The system key and the bearer token, from the options or the environment; with
    --azure-cli, the token Azure CLI's signed-in account gets for --resource."""
    key = args.key or os.environ.get(KEY_VARIABLE) or None
    token = args.bearer or os.environ.get(TOKEN_VARIABLE) or None
    if args.azure_cli:
        token = azure_cli_token(args.resource)
    return key, token


def azure_cli_token(resource: str | None) -> str:
    if not resource:
        raise ConfigError("--azure-cli needs --resource api://<client id>")
    try:
        from azure.identity import AzureCliCredential
    except ImportError:
        raise ConfigError(
            "--azure-cli needs azure-identity: pip install 'devhost[azure]'"
        ) from None
    scope = resource.rstrip("/") + "/.default"
    try:
        return str(AzureCliCredential(process_timeout=60).get_token(scope).token)
    except Exception as problem:  # azure-identity's errors say what az answered
        raise WebhookError(f"Azure CLI gave no token for {resource}: {problem}") from None


def _check_all(
    webhook: Webhook,
    orchestrators: Mapping[str, Any],
    versions: list[str],
    args: argparse.Namespace,
) -> list[Checked]:
    """List, fetch (`args.concurrency` at a time) and replay, in the order listed."""
    progress = Progress(sys.stderr)
    checked: list[Checked] = []
    waiting: deque[Future[dict[str, Any]]] = deque()
    window = 4 * args.concurrency
    pool = ThreadPoolExecutor(args.concurrency, thread_name_prefix="replay-check")

    def replay_ready(block: bool) -> None:
        while waiting and (waiting[0].done() or block or len(waiting) >= window):
            status = waiting.popleft().result()
            checked.append(check_one(status, orchestrators, versions, webhook.base))
            progress.replayed(len(checked))

    try:
        for listed in webhook.instances(list(args.status or IN_FLIGHT), args.prefix):
            if str(listed.get("instanceId", "")).startswith("@"):
                continue  # an entity: Azure lists them as @name@key instances
            if args.limit is not None and progress.listed >= args.limit:
                break
            waiting.append(pool.submit(webhook.history, str(listed["instanceId"])))
            progress.listed += 1
            replay_ready(block=False)
        replay_ready(block=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    progress.done(len(checked))
    return checked


def check_one(
    status: dict[str, Any], orchestrators: Mapping[str, Any], versions: list[str], source: str
) -> Checked:
    """Replay one instance under each candidate version until one replays."""
    instance_id, name = str(status.get("instanceId")), str(status.get("name"))
    history = status.get("historyEvents")
    if not history:  # Pending: the extension shows no history before the first episode
        return Checked(instance_id, name, pending=True)
    if not isinstance(history, list):
        raise CondensedError(f"{instance_id}: historyEvents is not a list")
    diverged: list[Divergence] = []
    for version in versions:
        where = source if len(versions) == 1 else f"{source}, as version {version or 'none'}"
        try:
            divergence = replay(orchestrators, instance_id, name, history, version, where)
        except CondensedError as problem:
            raise CondensedError(f"{instance_id}: {problem}") from None
        if divergence is None:
            return Checked(instance_id, name)
        diverged.append(divergence)
    # The version it most likely carries is the one it replays furthest under.
    return Checked(instance_id, name, max(diverged, key=lambda d: d.event_index))


class Progress:
    """A line on stderr every few seconds: how many instances are listed and replayed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.listed = 0
        self.began = self.last = time.monotonic()

    def replayed(self, count: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            self._say(f"{count} of {self.listed} listed instances replayed")

    def done(self, count: int) -> None:
        self._say(f"{count} instances replayed")

    def _say(self, text: str) -> None:
        print(f"replay-check: {text} ({time.monotonic() - self.began:.1f} s)", file=self.stream)
        self.stream.flush()


def tally(checked: list[Checked]) -> dict[str, tuple[int, int, int]]:
    """Per orchestrator: instances checked, diverged, pending."""
    counts: Counter[tuple[str, str]] = Counter()
    for item in checked:
        counts[item.name, "checked"] += 1
        counts[item.name, "diverged"] += item.divergence is not None
        counts[item.name, "pending"] += item.pending
    names = sorted({item.name for item in checked})
    return {n: (counts[n, "checked"], counts[n, "diverged"], counts[n, "pending"]) for n in names}


def report(checked: list[Checked], base: str, out: TextIO) -> None:
    diverged = sorted((c for c in checked if c.divergence), key=lambda c: c.instance_id)
    for item in diverged:
        assert item.divergence is not None
        print(item.divergence.describe() + "\n", file=out)
    for name, (count, bad, pending) in tally(checked).items():
        waiting = f", {pending} pending" if pending else ""
        print(f"replay-check: {name}: {count} in flight, {bad} diverged{waiting}", file=out)
    print(
        f"replay-check: {len(checked)} instances in flight at {base} replayed against the "
        f"current code, {len(diverged)} diverged",
        file=out,
    )


def markdown(checked: list[Checked], base: str, shown: int = 20) -> str:
    """The job summary: instances per orchestrator, and the divergences (the first `shown`)."""
    diverged = sorted((c for c in checked if c.divergence), key=lambda c: c.instance_id)
    verdict = (
        f"**{len(diverged)} of {len(checked)} diverge**: deploying would fail them"
        if diverged
        else f"all {len(checked)} replay against this commit"
    )
    lines = [
        f"### Instances in flight at {base}",
        "",
        verdict,
        "",
        "| orchestrator | in flight | diverged | pending |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {n} | {c} | {d} | {p} |" for n, (c, d, p) in tally(checked).items()]
    if diverged:
        lines += ["", "```text"]
        for item in diverged[:shown]:
            assert item.divergence is not None
            lines += [item.divergence.describe(), ""]
        if len(diverged) > shown:
            lines.append(f"... and {len(diverged) - shown} more")
        lines.append("```")
    return "\n".join(lines) + "\n\n"
