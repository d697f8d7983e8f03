"""Benchmark devhost: throughput and latency of durable work, printed as a table.

    .venv/bin/python bench/devhost.py [--runs 3] [--only lock_handover] [--workers 2]
                                      [--write docs/benchmarks.md]

Each run starts a fresh devhost (real clock, every commit fsynced) on bench/app, or on the
project's app with its partner simulators for the lock hand-over, and drives it over HTTP as
any client would. Medians of the runs are reported; `--write` also keeps the table, with the
machine it ran on, in a markdown file (`make bench` writes docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
APP = Path(__file__).resolve().parent / "app"
API = "/runtime/webhooks/durabletask"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Devhost:
    """A devhost child process on a fresh hub file."""

    def __init__(self, workdir: Path, app: Path, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--app",
            str(app),
            "--port",
            str(self.port),
            "--hub",
            str(workdir / "bench.sqlite"),
        ]
        self.log = (workdir / "devhost.log").open("wb")
        settings = {  # the project's app: local simulators that never fail, actors in bodies
            "TASKHUB_NAME": "bench",  # host.json's %TASKHUB_NAME% must resolve, as in Azure
            "SIMULATOR_STATE_PATH": str(workdir / "simulator.sqlite"),
            "SIMULATOR_FAILURES": "",
            "ACCEPT_ACTOR_FIELD": "true",
            "FUNCTIONS_WORKER_PROCESS_COUNT": str(workers),
        }
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **settings},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"devhost exited; see {workdir / 'devhost.log'}")
            try:
                if httpx.get(self.url + "/admin/host/status").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("devhost did not start")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class Client:
    """A thin JSON client over aiohttp, which costs the load generator far less CPU than httpx."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def request(self, method: str, path: str, **kwargs) -> tuple[int, object]:
        async with self.session.request(method, path, **kwargs) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text else None)

    async def get(self, path: str, **kwargs) -> tuple[int, object]:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs) -> tuple[int, object]:
        status, body = await self.request("POST", path, **kwargs)
        if status >= 400:
            raise RuntimeError(f"POST {path}: {status} {body}")
        return status, body


Measured = tuple[float, str]  # a value and the workload it measured


async def wait_status(client: Client, instance_id: str) -> dict:
    while True:
        _, body = await client.get(f"{API}/instances/{instance_id}")
        if body["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            if body["runtimeStatus"] != "Completed":
                raise RuntimeError(f"{instance_id}: {body}")
            return body
        await asyncio.sleep(0.02)


async def start(client: Client, name: str, instance_id: str, data=None) -> None:
    """Start as the SDK client's start_new does: the input's JSON text in a JSON string."""
    body = None if data is None else json.dumps(data)
    await client.post(f"{API}/orchestrators/{name}/{instance_id}", json=body)


async def hello_sequences(client: Client, count: int = 500) -> tuple[float, str]:
    began = time.perf_counter()
    await asyncio.gather(*(start(client, "hello_sequence5", f"seq-{n}") for n in range(count)))
    unfinished = {"runtimeStatus": "Pending,Running", "top": "1"}
    while (await client.get(f"{API}/instances", params=unfinished))[1]:
        await asyncio.sleep(0.05)
    finished = {"runtimeStatus": "Completed", "top": str(count)}
    _, completed = await client.get(f"{API}/instances", params=finished)
    assert len(completed) == count
    elapsed = time.perf_counter() - began
    return count / elapsed, f"{count} started at once, 5 activities each"


async def fan_out(client: Client, count: int = 1000) -> tuple[float, str]:
    began = time.perf_counter()
    await start(client, "fan_out", "fan", count)
    body = await wait_status(client, "fan")
    assert body["output"] == count
    return time.perf_counter() - began, f"{count} activities, start to output"


async def events(client: Client, count: int = 1000) -> tuple[float, str]:
    await start(client, "collect_events", "events", count)
    await asyncio.sleep(0.2)
    began = time.perf_counter()
    semaphore = asyncio.Semaphore(32)

    async def raise_one(n: int) -> None:
        async with semaphore:
            url = f"{API}/instances/events/raiseEvent/Item"
            await client.post(url, json=n)

    await asyncio.gather(*(raise_one(n) for n in range(count)))
    await wait_status(client, "events")
    return count / (time.perf_counter() - began), f"{count} raised to one orchestration"


async def signals(client: Client, count: int = 1000) -> tuple[float, str]:
    began = time.perf_counter()
    semaphore = asyncio.Semaphore(32)

    async def signal_one(_: int) -> None:
        async with semaphore:
            url = f"{API}/entities/counter/bench"
            await client.post(url, params={"op": "add"})

    await asyncio.gather(*(signal_one(n) for n in range(count)))
    while True:
        status, state = await client.get(f"{API}/entities/counter/bench")
        if status == 200 and state >= count:
            break
        await asyncio.sleep(0.02)
    return count / (time.perf_counter() - began), f"{count} signals to one entity"


async def long_sequence(client: Client, count: int = 2000, window: int = 100) -> list[Measured]:
    """Whether an episode's cost grows with the history: one instance, `count` steps in a row.

    A step is the host time between two consecutive activities being scheduled (history
    timestamps are the host's own clock), so HTTP polling does not enter the figure."""
    await start(client, "long_sequence", "long", count)
    await wait_status(client, "long")
    _, body = await client.get(f"{API}/instances/long", params={"showHistory": "true"})
    scheduled = [
        datetime.fromisoformat(row["ScheduledTime"])
        for row in body["historyEvents"]
        if row["EventType"] == "TaskCompleted"
    ]
    assert len(scheduled) == count, len(scheduled)
    steps = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(scheduled)]
    detail = f"one instance, {count} activities in a row"
    return [
        (statistics.median(steps[:window]), f"{detail}, first {window}"),
        (statistics.median(steps[-window:]), f"{detail}, last {window}"),
    ]


async def lock_handover(client: Client, count: int = 20) -> Measured:
    """Orders queue for one aircraft; each is approved as soon as it holds it. A hand-over runs
    from the holder's release step (its output's `completedAt`) to the next holder's first step
    (`aircraftAcquiredAt`): host times the instances recorded, on the real clock."""
    orders = [f"MO-B{n:02d}" for n in range(count + 1)]
    for order_id in orders:
        body = {
            "orderId": order_id,
            "tailNumber": "D-BNCH",
            "aircraftType": "A320neo",
            "requestedBy": "bench@example.com",
            "tasks": [{"taskId": "T1", "description": "Check", "parts": []}],
        }
        await client.post("/api/maintenance-orders", json=body)
    approved: set[str] = set()
    for _ in orders:
        holder = await until(
            client,
            "/api/locks/aircraft:D-BNCH",
            lambda lock: lock["holder"] not in approved and lock["holder"],
        )
        approved.add(holder)
        view = f"/api/maintenance-orders/{holder.removeprefix('maintenance-')}"
        await until(client, view, lambda v: v["stage"] == "awaiting_return_to_service")
        await client.post(f"{view}/approval", json={"approved": True, "actor": "bench"})
    outputs = [
        await until(client, f"/api/maintenance-orders/{order_id}", lambda v: v["output"])
        for order_id in orders
    ]
    times = sorted(
        (datetime.fromisoformat(o["timestamps"]["aircraftAcquiredAt"]), o) for o in outputs
    )
    gaps = [
        (acquired - datetime.fromisoformat(previous["timestamps"]["completedAt"])).total_seconds()
        for (_, previous), (acquired, _) in itertools.pairwise(times)
    ]
    return statistics.median(gaps) * 1000, f"median of {count}, release to next holder"


async def replay_in_flight(client: Client, count: int = 10_000) -> Measured:
    """`devhost replay-check --from` over `count` instances in flight, each waiting for an
    approval after a step: listed page by page, each history read and replayed. From the
    command's start to its exit, so the interpreter and the app's import are in the figure."""
    semaphore = asyncio.Semaphore(64)

    async def start_one(n: int) -> None:
        async with semaphore:
            await start(client, "awaits_approval", f"waits-{n:05d}", n)

    await asyncio.gather(*(start_one(n) for n in range(count)))
    status, _ = await client.get("/devhost/idle", params={"timeout": "900"})
    assert status == 200, "the instances did not settle"
    began = time.perf_counter()
    checked = subprocess.run(
        [sys.executable, "-m", "devhost", "replay-check", "--app", str(APP), "--from", client.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - began
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    assert f"{count} instances in flight at {client.url} replayed" in checked.stdout
    return elapsed, f"{count:,} waiting instances, read and replayed"


async def until(client: Client, path: str, check: Callable[[dict], object]) -> object:
    """The first truthy `check(body)` of GET `path`, polled."""
    while True:
        status, body = await client.get(path)
        if status == 200 and (value := check(body)):
            return value
        await asyncio.sleep(0.02)


Scenario = Callable[[Client], Awaitable[Measured | list[Measured]]]
#: Each scenario with the rows it measures, (name, unit, target), and the app it runs on.
SCENARIOS: list[tuple[Scenario, list[tuple[str, str, str]], Path]] = [
    (hello_sequences, [("HelloSequence5", "orchestrations/s", ">= 100")], APP),
    (fan_out, [("Fan-out/fan-in 1,000", "seconds", "<= 3")], APP),
    (events, [("External events", "events/s", ">= 500")], APP),
    (signals, [("Entity signals", "signals/s", ">= 500")], APP),
    (
        long_sequence,
        [
            ("Sequence 2,000: start", "ms per step", ""),
            ("Sequence 2,000: end", "ms per step", ""),
        ],
        APP,
    ),
    (lock_handover, [("Lock hand-over", "ms", "<= 1000")], ROOT),
    (replay_in_flight, [("Replay-check --from", "seconds", "<= 120")], APP),
]


async def run_once(scenario: Scenario, app: Path, workers: int) -> list[Measured]:
    with tempfile.TemporaryDirectory() as workdir:
        host = Devhost(Path(workdir), app, workers)
        try:
            async with aiohttp.ClientSession(host.url) as session:
                measured = await scenario(Client(session, host.url))
        finally:
            host.close()
    return measured if isinstance(measured, list) else [measured]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--only", nargs="*", default=(), help="scenario functions to run, e.g. long_sequence"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="FUNCTIONS_WORKER_PROCESS_COUNT (default 2)"
    )
    parser.add_argument("--write", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args()
    rows = []
    for scenario, names, app in SCENARIOS:
        if args.only and scenario.__name__ not in args.only:
            continue
        results = [asyncio.run(run_once(scenario, app, args.workers)) for _ in range(args.runs)]
        for position, (name, unit, target) in enumerate(names):
            values = [measured[position][0] for measured in results]
            detail = results[0][position][1]
            rows.append((name, detail, unit, target, statistics.median(values), values))
    header = (
        f"devhost benchmark, {args.runs} runs each, median (all runs), "
        f"{args.workers} worker process(es); "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    table = render(rows)
    print(header, "", table, sep="\n")
    if args.write:
        args.write.write_text(report(header, table))


Row = tuple[str, str, str, str, float, list[float]]


def render(rows: list[Row]) -> str:
    """The results as a markdown table."""
    lines = [
        f"| {'scenario':<22} | {'workload':<46} | {'median':>10} | {'unit':<16} | "
        f"{'target':<7} | runs |",
        f"|{'-' * 24}|{'-' * 48}|{'-' * 12}|{'-' * 18}|{'-' * 9}|------|",
    ]
    for name, detail, unit, target, median, values in rows:
        runs = ", ".join(f"{v:.1f}" if v >= 10 else f"{v:.2f}" for v in values)
        shown = f"{median:.1f}" if median >= 10 else f"{median:.2f}"
        lines.append(
            f"| {name:<22} | {detail:<46} | {shown:>10} | {unit:<16} | {target:<7} | {runs} |"
        )
    return "\n".join(lines)


def report(header: str, table: str) -> str:
    """docs/benchmarks.md: what ran, where and when, and the table (written, never edited)."""
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        "# Benchmarks\n\n"
        "Written by `make bench` (bench/devhost.py); run it again rather than editing this file.\n"
        "Each run starts a fresh devhost and drives it over HTTP; the targets are the project's "
        "own. The lock hand-over runs the project's app with its simulators: maintenance orders "
        "queue for one aircraft, and a hand-over runs from the holder's release to the next "
        "holder's first step.\n\n"
        f"{header}, {when}.\n\n{table}\n"
    )


if __name__ == "__main__":
    main()
