"""Oversized and unknown-key request bodies: the service workers' peak memory, /livez and a 1-record
request's latency, with and without the service's guards.

Two servers, each started afresh for every scenario and repeat with 2 workers (as `serve` runs it):

- `unguarded`: the project's service with its ASGI middleware list emptied (a module written to a
  temp dir): the service as it was before the body limit and before it validated requests itself
  (BentoML then validates them, answering and logging every pydantic error);
- `guarded`: the project's service as `serve` runs it (`bentoml serve <package>.service:Predictor`).

Scenarios, each sending one real record repeated (far more than the record cap) as JSON:

- `idle`: nothing sent (the reference for RSS and /livez);
- `50 MB`: one body with a Content-Length;
- `200 MB chunked`: one chunked stream (no Content-Length);
- `2 x 50 MB`: two bodies, the second sent once the first is written, so that its worker is busy
  parsing and the other worker takes the second: both workers busy at once.

and, from a separate process (so that the client's own work does not slow the measurement), one
record of 234,000 unknown keys (2.8 MB: the body a reviewer sent, within the body limit) posted in a
loop by 1 or 8 clients at once (`unknown keys x 1`, `unknown keys x 8`), while 1-record requests
(a real record) are sent one after another, 0.2 s apart, until 10 are answered or 60 s have passed.
Reported: the unknown-key requests' answer, seconds and answer size, the 1-record requests' latency
(median, max), the largest growth of a worker's RSS over its RSS before (VmHWM) and the server's log
written meanwhile.

All the while a poller GETs /livez on a new connection every 50 ms, as a kubelet probe does (a
worker whose event loop is blocked cannot accept it; the other worker can). Reported per scenario,
medians over the repeats: the answer's status and seconds, what the client got to write before the
answer, the peak RSS of the workers (the largest, and the sum; VmHWM from /proc after resetting it
through /proc/<pid>/clear_refs; the workers are the server's descendants found through /proc,
because BentoML's workers start sessions of their own and a process-group lookup misses them), and
/livez latency (median, max) with its failures (no answer within 30 s).

    uv run --project <bake> python benchmarks/oversized.py --project <bake> [--repeats 3]

The unguarded server needs about 5 GB of free memory for the 200 MB stream, and writes about 45 MB
of log per unknown-key request. About 15 minutes for 3 repeats. Trains the model first if
artifacts/model is missing; BentoML's store is a temp folder unless BENTOML_HOME is set.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import textwrap
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from serving import free_port, prepare, server

PACKAGE = os.environ.get("BENCH_PACKAGE", "my_ml_project")  # the default bake's package
MB = 1_000_000
# name: (bytes per body, bodies, chunked)
SCENARIOS = {
    "50 MB": (50 * MB, 1, False),
    "200 MB chunked": (200 * MB, 1, True),
    "2 x 50 MB": (50 * MB, 2, False),
}

# name: clients posting the unknown-key body at once
FLOODS = {"unknown keys x 1": 1, "unknown keys x 8": 8}
UNKNOWN_KEYS = 234_000  # "k000000": 0, ... : 12 bytes each, 2.8 MB, within the default bake's limit
PROBES, PROBE_GAP, PROBE_WINDOW = 10, 0.2, 60  # 1-record requests: how many, seconds apart, at most
JSON = {"content-type": "application/json"}

UNGUARDED = """
from {package} import service as project

project.Predictor.middlewares.clear()  # the body limit is the service's only ASGI middleware
Predictor = project.Predictor
"""


# ----------------------------------------------------------------------------------------------
# Processes through /proc


def descendants(root: int) -> list[int]:
    """Every process below `root`, by parent pid (sessions and process groups do not matter)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def is_worker(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"_bentoml_impl.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def workers(root: int) -> list[int]:
    return [pid for pid in descendants(root) if is_worker(pid)]


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := the current RSS


# ----------------------------------------------------------------------------------------------
# Load


def body_stream(record: bytes, size: int, chunk: int = MB):
    """A JSON body of about `size` bytes: {"records": [record, record, ...]}, in chunks."""
    per_chunk = max(1, chunk // (len(record) + 1))
    piece = b",".join([record] * per_chunk)
    yield b'{"records":[' + record
    sent = len(record) + 12
    while sent < size:
        yield b"," + piece
        sent += len(piece) + 1
    yield b"]}"


def send(port: int, record: bytes, size: int, chunked: bool, written: threading.Event) -> dict:
    """One oversized POST /predict; its status, seconds and the bytes the client got to write.
    Sets `written` once the body is written or the request is over."""
    body, sent = b"".join(body_stream(record, size)), [0]
    headers = {"content-type": "application/json"}
    if not chunked:
        headers["content-length"] = str(len(body))  # httpx then streams the chunks unchunked

    def chunks():
        for start in range(0, len(body), MB):
            sent[0] += len(body[start : start + MB])
            yield body[start : start + MB]
        written.set()

    start = time.perf_counter()
    try:
        with httpx.Client(timeout=600) as client:
            url = f"http://127.0.0.1:{port}/predict"
            status = client.post(url, content=chunks(), headers=headers).status_code
    except httpx.HTTPError as error:
        status = type(error).__name__
    written.set()
    return {"status": status, "seconds": time.perf_counter() - start, "sent_mb": sent[0] / MB}


class Poller(threading.Thread):
    """GET /livez on a new connection every 50 ms; (start, seconds or None) for each."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.log, self.stop = port, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/livez", timeout=30) as r:
                    seconds = time.perf_counter() - start if r.status == 200 else None
            except OSError:
                seconds = None
            self.log.append((start, seconds))
            time.sleep(0.05)

    def window(self, begin: float, end: float) -> dict:
        probes = [seconds for start, seconds in self.log if begin <= start <= end]
        answered = [s for s in probes if s is not None]
        return {
            "livez_p50_ms": 1000 * statistics.median(answered) if answered else float("nan"),
            "livez_max_ms": 1000 * max(answered, default=float("nan")),
            "livez_failed": len(probes) - len(answered),
        }


def scenario(port: int, pids: list[int], poller: Poller, record: bytes, spec: tuple) -> dict:
    size, count, chunked = spec
    before = [status_kb(pid, "VmRSS") for pid in pids]
    for pid in pids:
        reset_peak(pid)
    begin, written = time.perf_counter(), [threading.Event() for _ in range(count)]

    def one(i: int) -> dict:
        if i:  # the next body once the previous one is written: its worker is busy with it then,
            written[i - 1].wait()  # so the other worker accepts this one
            time.sleep(0.2)
        return send(port, record, size, chunked, written[i])

    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(one, range(count)))
    time.sleep(0.5)  # probes queued behind the request get answered
    peaks = [status_kb(pid, "VmHWM") for pid in pids]
    return {
        "status": "/".join(sorted({str(a["status"]) for a in answers})),
        "seconds": max(a["seconds"] for a in answers),
        "sent_mb": sum(a["sent_mb"] for a in answers),
        "rss_before_mb": max(before) / 1024,
        "peak_max_mb": max(peaks) / 1024,
        "peak_sum_mb": sum(peaks) / 1024,
        **poller.window(begin, time.perf_counter()),
    }


def unknown_keys_body(count: int = UNKNOWN_KEYS) -> bytes:
    """One record of `count` keys the schema does not have."""
    return b'{"records":[{' + b",".join(b'"k%06d":0' % i for i in range(count)) + b"}]}"


def flood(port: int, clients: int, stop, answers) -> None:
    """In its own process: `clients` threads post the unknown-key body in a loop until `stop` is
    set; (status, seconds, answer bytes) of each goes to the `answers` queue."""
    body, url = unknown_keys_body(), f"http://127.0.0.1:{port}/predict"

    def client() -> None:
        with httpx.Client(timeout=600) as http:
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    response = http.post(url, content=body, headers=JSON)
                    answers.put((response.status_code, time.perf_counter() - start, len(response.content)))
                except httpx.HTTPError as error:
                    answers.put((type(error).__name__, time.perf_counter() - start, 0))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def probe(port: int, record: bytes, probes: int = PROBES) -> list[float]:
    """Seconds of each 1-record request, one after another (`probes` of them, within PROBE_WINDOW)."""
    body, seconds = b'{"records":[' + record + b"]}", []
    end = time.perf_counter() + PROBE_WINDOW
    with httpx.Client(timeout=600) as http:
        while len(seconds) < probes and time.perf_counter() < end:
            start = time.perf_counter()
            response = http.post(f"http://127.0.0.1:{port}/predict", content=body, headers=JSON)
            seconds.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text[:300]
            time.sleep(PROBE_GAP)
    return seconds


def unknown_keys(port: int, pids: list[int], poller: Poller, log: Path, record: bytes, clients: int) -> dict:
    probe(port, record, probes=20)  # both workers' first predictions (lazy imports, caches) come first
    before = {pid: status_kb(pid, "VmRSS") for pid in pids}
    for pid in pids:
        reset_peak(pid)
    logged, begin = log.stat().st_size, time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    stop, queue = spawn.Event(), spawn.Queue()
    flooding = spawn.Process(target=flood, args=(port, clients, stop, queue))
    flooding.start()
    time.sleep(2)  # the process started and its bodies are on their way
    latencies = probe(port, record)
    stop.set()
    answers = []
    while flooding.is_alive() or not queue.empty():  # drain, or a full queue keeps the process alive
        with contextlib.suppress(Exception):
            answers.append(queue.get(timeout=0.5))
    flooding.join()
    growth = max(status_kb(pid, "VmHWM") - before[pid] for pid in pids)
    return {
        "status": "/".join(sorted({str(a[0]) for a in answers})),
        "requests": len(answers),
        "seconds": statistics.median(a[1] for a in answers),
        "answer_kb": statistics.median(a[2] for a in answers) / 1000,
        "probe_p50_ms": 1000 * statistics.median(latencies),
        "probe_max_ms": 1000 * max(latencies),
        "probes": len(latencies),
        "rss_before_mb": max(before.values()) / 1024,
        "growth_mb": growth / 1024,
        "log_mb": (log.stat().st_size - logged) / MB,
        **poller.window(begin, time.perf_counter()),
    }


# ----------------------------------------------------------------------------------------------
# The benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".", help="a baked project")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--servers", nargs="+", default=["unguarded", "guarded"])
    names = [*SCENARIOS, *FLOODS]
    parser.add_argument("--scenarios", nargs="+", default=names, choices=names)
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs (path printed)")
    args = parser.parse_args()

    project = Path(args.project).resolve()
    work, params, model_dir, tag = prepare(project, "bench-oversized-")
    data, models = (importlib.import_module(f"{PACKAGE}.{m}") for m in ("data", "models"))
    info = models.read_info(model_dir)
    row = data.load_training_data(params)[info.numeric + info.categorical].head(1)
    record = json.dumps(json.loads(row.to_json(orient="records"))[0], separators=(",", ":")).encode()
    limit = importlib.import_module(f"{PACKAGE}.records")
    print(f"One record: {len(record)} bytes of JSON; the record cap: {limit.MAX_RECORDS}", flush=True)

    (work / "bench_unguarded.py").write_text(textwrap.dedent(UNGUARDED.format(package=PACKAGE)))
    env = dict(os.environ, MODEL_TAG=tag, SERVICE_WORKERS="2")
    env["PYTHONPATH"] = os.pathsep.join([str(work), str(project / "src")])
    bento = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1"]
    targets = {"unguarded": "bench_unguarded:Predictor", "guarded": f"{PACKAGE}.service:Predictor"}
    results: dict[tuple[str, str], list[dict]] = {}
    for repeat in range(args.repeats):
        for kind in args.servers:
            for name in ["idle", *args.scenarios]:  # a fresh server each: freed memory stays mapped
                port = free_port()
                command = [*bento, targets[kind], "--port", str(port)]
                log = work / f"{kind}-{name.replace(' ', '')}-{repeat + 1}.log"
                with server(command, env, project, port, log, "/readyz") as process:
                    pids = workers(process.pid)
                    poller = Poller(port)
                    poller.start()
                    time.sleep(2)
                    if name == "idle":
                        rss = [status_kb(pid, "VmRSS") / 1024 for pid in pids]
                        result = {"status": "-", "seconds": 0.0, "sent_mb": 0.0, "rss_before_mb": max(rss)}
                        result |= {"peak_max_mb": max(rss), "peak_sum_mb": sum(rss)}  # now, not a peak
                        result |= poller.window(0, time.perf_counter())
                    elif name in FLOODS:
                        result = unknown_keys(port, pids, poller, log, record, FLOODS[name])
                    else:
                        result = scenario(port, pids, poller, record, SCENARIOS[name])
                    poller.stop.set()
                    poller.join()
                for pid in filter(is_worker, pids):  # one of ours left behind (none so far)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                results.setdefault((kind, name), []).append(result)
                print(f"  #{repeat + 1} {kind:<9} {name:<15} {json.dumps(result)}", flush=True)

    print(
        f"\nMedians of {args.repeats} runs, a fresh server (2 workers) for each; /livez polled every "
        "50 ms on a new connection\n\n"
        "| server | request | answer | seconds | client wrote MB | worker RSS before MB "
        "| peak RSS MB, largest worker | peak RSS MB, both workers | /livez p50 ms | /livez max ms "
        "| /livez failed |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in args.servers:
        for name in ["idle", *(n for n in args.scenarios if n in SCENARIOS)]:
            runs = results[(kind, name)]

            def med(key: str, runs=runs) -> float:
                return statistics.median(r[key] for r in runs)

            statuses = "/".join(sorted({r["status"] for r in runs}))
            print(
                f"| {kind} | {name} | {statuses} | {med('seconds'):.2f} | {med('sent_mb'):.1f} "
                f"| {med('rss_before_mb'):.0f} | {med('peak_max_mb'):.0f} | {med('peak_sum_mb'):.0f} "
                f"| {med('livez_p50_ms'):.1f} | {med('livez_max_ms'):.0f} | {med('livez_failed'):.0f} |"
            )
    floods = [name for name in args.scenarios if name in FLOODS]
    if floods:
        print(
            f"\nOne record of {UNKNOWN_KEYS:,} unknown keys ({len(unknown_keys_body()) / MB:.1f} MB) "
            f"posted in a loop by 1 or 8 clients; 1-record requests {PROBE_GAP} s apart meanwhile. "
            f"Medians of "
            f"{args.repeats} runs\n\n"
            "| server | in flight | answer | seconds | answer KB | requests | 1-record p50 ms "
            "| 1-record max ms | worker RSS before MB | worker RSS growth MB | log MB | /livez max ms |"
        )
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in args.servers:
        for name in floods:
            runs = results[(kind, name)]

            def med(key: str, runs=runs) -> float:
                return statistics.median(r[key] for r in runs)

            statuses = "/".join(sorted({s for r in runs for s in r["status"].split("/")}))
            print(
                f"| {kind} | {FLOODS[name]} | {statuses} | {med('seconds'):.2f} | {med('answer_kb'):,.1f} "
                f"| {med('requests'):.0f} | {med('probe_p50_ms'):.0f} | {med('probe_max_ms'):.0f} "
                f"| {med('rss_before_mb'):.0f} | {med('growth_mb'):.0f} | {med('log_mb'):.2f} "
                f"| {med('livez_max_ms'):.0f} |"
            )
    if args.keep_logs:
        print(f"\nServer logs: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
