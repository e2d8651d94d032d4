"""A shadow beside the champion: the served service's throughput, latency and memory with a shadow.

With a shadow (SHADOW_TAG, shadow.py) every batch the champion answers is also predicted by a second
stored model, so each batch costs about twice the model work. Two measurements in one run, each
server started by the project's own verb, `<package> serve --params params.yaml --model <folder>
[--shadow <folder>] --port N` (which stores the models and runs `bentoml serve` with 2 workers):

1. A/B: single-record `POST /predict` at c=32 (serving.py's load generator: a separate asyncio
   process, keep-alive connections, 500 distinct real rows), without a shadow and with one, in
   alternating runs (a fresh server for each: the kernel's split of the connections over the two
   workers differs from one start to the next, and is sampled with it), each measured for a fixed
   time after a warm-up. Reported: medians over the runs of req/s, p50 and p99, the ratio of the
   medians with/without, errors (all runs), the server's CPU per request, and each worker's share
   of the requests (from the access log).
2. Soak: c=64 with the shadow for 10 minutes after a 1-minute warm-up; the resident memory (RSS)
   summed over the server's process tree (psutil: the `serve` process and all its descendants)
   sampled every 30 s from the end of the warm-up. Reported: start, end, peak, growth (end over
   start), requests served and errors.

Before loading, every server must answer 20 records with exactly the in-process champion's
predictions and refuse a bad record (400); /readyz (asked 10 times, on new connections, so that both
workers answer) must say the shadow is loaded, or that there is none; with a shadow, /metrics'
model_shadow_compared_total must grow by the 20 records. After each load with a shadow, the growth
of model_shadow_compared_total is compared with the requests answered (each record predicted by
both), and model_shadow_failures_total must not grow.

The prediction log (serving.log_predictions) is off in the A/B runs and, unless --log-predictions,
in the soak: without it the shadow still predicts every batch. With --log-predictions the soak's
server logs every prediction, the shadow's columns included, into a SQLite file in the work folder
(a BentoML store of its own, since the log's settings are stored with the model).

    uv run --project <bake> python benchmarks/shadow.py --project <bake> [--log-predictions]

Trains the models first if missing: artifacts/model (the champion) and artifacts/shadow (the same
params trained again: another stored tag, the same model work per batch). BentoML's store is a temp
folder unless BENTOML_HOME is set. About 15 minutes (the soak is 11 of them). The machine's load
average is printed before each load: other work on the machine shows up as lower throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

from serving import PACKAGE, check, free_port, prepare, request_bodies, run_load, server, tree_cpu_seconds

TARGET = {"ratio": 0.55, "p99_ms": 100.0, "growth": 0.10}
LOG_URL_ENV = "BENCH_PREDICTIONS_URL"  # the soak's prediction log, with --log-predictions


# ----------------------------------------------------------------------------------------------
# What the server says


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return response.read().decode()


def metric(port: int, name: str) -> float:
    """A counter of /metrics summed over its series (and workers: BentoML serves them together)."""
    total = 0.0
    for line in get(port, "/metrics").splitlines():
        if line.startswith((f"{name}{{", f"{name} ")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def shadow_counts(port: int) -> tuple[float, float]:
    """(records both models predicted, shadow failures) so far."""
    return metric(port, "model_shadow_compared_total"), metric(port, "model_shadow_failures_total")


def check_shadow(port: int, shadow_tag: str | None, sample: list[dict], expected) -> None:
    """The server answers as the champion does; /readyz names the shadow as loaded (or none) on
    every worker asked; with a shadow, the 20 checked records were also predicted by it."""
    for _ in range(10):  # a new connection each time: both workers get asked
        ready = json.loads(get(port, "/readyz"))
        state = ready.get("shadow")
        if shadow_tag is None and state is not None:
            raise RuntimeError(f"/readyz names a shadow where none was asked for: {ready}")
        if shadow_tag is not None and (
            not state or not state.get("loaded") or state.get("tag") != shadow_tag
        ):
            raise RuntimeError(f"/readyz does not have the shadow {shadow_tag} loaded: {ready}")
    before, failures = shadow_counts(port)
    check(port, sample, expected, refused=400)
    after, failures_after = shadow_counts(port)
    if shadow_tag is not None and after - before != len(sample):
        raise RuntimeError(f"model_shadow_compared_total grew by {after - before:g}, not {len(sample)}")
    if shadow_tag is None and after:
        raise RuntimeError(f"model_shadow_compared_total is {after:g} without a shadow")
    if failures_after != failures:
        raise RuntimeError("model_shadow_failures_total grew during the check")


def worker_split(log_file: Path) -> list[float]:
    """Each worker's share of the /predict requests, from the server's access log, largest first
    (the kernel hands each keep-alive connection to one worker, not always evenly)."""
    counts: dict[str, int] = {}
    with log_file.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            found = WORKER.search(line)
            if found and "path=/predict" in line:
                counts[found.group(1)] = counts.get(found.group(1), 0) + 1
            elif found and line.rstrip().endswith("initialized"):  # a worker that may get none
                counts.setdefault(found.group(1), 0)
    total = sum(counts.values()) or 1
    return sorted((n / total for n in counts.values()), reverse=True)


WORKER = re.compile(r"\[entry_service:[^\]]*:(\d+)\]")


def tree_rss(pid: int) -> tuple[int, int]:
    """(resident bytes summed over the process and its descendants, how many processes)."""
    import psutil

    total = count = 0
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
                count += 1
    return total, count


# ----------------------------------------------------------------------------------------------
# The benchmark


class Servers:
    """Starts `<package> serve` with or without the shadow, checked before it is loaded."""

    def __init__(self, project: Path, work: Path, params_file: Path, model_dir: Path, shadow_dir: Path):
        self.project, self.work, self.params_file = project, work, params_file
        self.model_dir, self.shadow_dir = model_dir, shadow_dir
        self.env = dict(os.environ, PYTHONPATH=str(project / "src"))
        self.env.pop("OMP_NUM_THREADS", None)  # the service sets its own
        self.started = 0
        self.log = work / "none.log"  # the last server's

    @contextlib.contextmanager
    def start(self, shadow_tag: str | None, sample, expected, env: dict | None = None, params=None):
        port = free_port()
        command = [sys.executable, "-m", PACKAGE, "serve", "--params", str(params or self.params_file)]
        command += ["--model", str(self.model_dir), "--host", "127.0.0.1", "--port", str(port)]
        if shadow_tag is not None:
            command += ["--shadow", str(self.shadow_dir)]
        self.started += 1
        self.log = self.work / f"server-{self.started}-{'shadow' if shadow_tag else 'alone'}.log"
        with server(command, env or self.env, self.project, port, self.log, "/readyz") as process:
            check_shadow(port, shadow_tag, sample, expected)
            yield port, process


def one_load(port: int, process, bodies: Path, concurrency: int, warmup: float, seconds: float, env) -> dict:
    """A load from serving.py's load generator, with the server's CPU per request and the shadow's
    counters' growth meanwhile."""
    cpu = tree_cpu_seconds(process.pid)
    compared, failures = shadow_counts(port)
    timing = SimpleNamespace(warmup=warmup, seconds=seconds)
    result = run_load(port, bodies, concurrency, timing, env)
    compared_after, failures_after = shadow_counts(port)
    result["server_cpu_ms"] = 1000 * (tree_cpu_seconds(process.pid) - cpu) / max(result["requests_total"], 1)
    result["compared"] = compared_after - compared
    result["shadow_failures"] = failures_after - failures
    return result


def shadow_line(result: dict, shadow: bool) -> str:
    if not shadow:
        return ""
    answered = result["requests_total"] - result["errors_total"]
    compared, failures = result["compared"], result["shadow_failures"]
    return f"  shadow compared {compared:,.0f} of {answered:,} answered, failures {failures:g}"


def ab(servers: Servers, tags: dict, bodies: Path, sample, expected, args) -> dict[str, list[dict]]:
    print(f"A/B: c={args.concurrency}, {args.warmup:g} s warm-up + {args.seconds:g} s per run, alternating\n")
    runs: dict[str, list[dict]] = {"without": [], "with": []}
    for run in range(args.runs):
        for kind in ("without", "with"):
            with servers.start(tags[kind], sample, expected) as (port, process):
                load_average = os.getloadavg()
                result = one_load(
                    port, process, bodies, args.concurrency, args.warmup, args.seconds, servers.env
                )
            result["load_average"] = load_average[0]
            result["split"] = worker_split(servers.log)
            runs[kind].append(result)
            print(
                f"  run {run + 1} {kind + ' shadow':<14} {result['rps']:7.1f} req/s  "
                f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
                f"errors {result['errors_total']}  server CPU {result['server_cpu_ms']:.2f} ms/req  "
                f"load generator CPU {result['loadgen_cpu']:.0%}  workers {split(result)}  "
                f"(load average before: {load_average[0]:.1f})" + shadow_line(result, kind == "with"),
                flush=True,
            )
    return runs


def soak(servers: Servers, tags: dict, bodies: Path, sample, expected, args) -> dict:
    env, params, logged = servers.env, None, None
    if args.log_predictions:
        params, env, logged = logged_settings(servers)
    mode = (
        f"prediction log ON (SQLite: {logged})"
        if logged
        else "prediction log OFF (shadow predicts every batch)"
    )
    print(
        f"\nSoak: c={args.soak_concurrency} with the shadow, {args.soak_warmup:g} s warm-up + "
        f"{args.soak_seconds:g} s, RSS of the server's process tree every {args.every:g} s; {mode}\n"
    )
    with servers.start(tags["with"], sample, expected, env=env, params=params) as (port, process):
        idle = tree_rss(process.pid)
        load_average = os.getloadavg()
        print(
            f"  idle: RSS {idle[0] / 2**20:,.0f} MB over {idle[1]} processes "
            f"(load average before: {load_average[0]:.1f})",
            flush=True,
        )
        samples: list[tuple[float, int, int, float]] = []
        with ThreadPoolExecutor(1) as pool:
            begin = time.monotonic()
            running = pool.submit(
                one_load,
                port,
                process,
                bodies,
                args.soak_concurrency,
                args.soak_warmup,
                args.soak_seconds,
                servers.env,
            )
            stops = int(args.soak_seconds // args.every)
            for k in range(stops + 1):
                at = args.soak_warmup + min(k * args.every, args.soak_seconds - 1)
                time.sleep(max(0.0, begin + at - time.monotonic()))
                if running.done():
                    break
                rss, count = tree_rss(process.pid)
                samples.append((time.monotonic() - begin, rss, count, os.getloadavg()[0]))
                print(
                    f"  t={samples[-1][0]:5.0f} s  RSS {rss / 2**20:7,.1f} MB over {count} processes  "
                    f"(load average {samples[-1][3]:.1f})",
                    flush=True,
                )
            result = running.result()
        rows = logged_rows(logged) if logged else None
    start, end = samples[0][1], samples[-1][1]
    result.update(
        idle_mb=idle[0] / 2**20,
        start_mb=start / 2**20,
        end_mb=end / 2**20,
        peak_mb=max(s[1] for s in samples) / 2**20,
        growth=(end - start) / start,
        samples=len(samples),
        load_average=load_average[0],
        load_average_max=max(s[3] for s in samples),
        logged="prediction log ON (SQLite)" if logged else "prediction log OFF",
        logged_rows=rows,
    )
    print(
        f"\n  served {result['requests_total']:,} requests ({result['rps']:.0f} req/s measured), p50 "
        f"{result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, errors {result['errors_total']}"
        + shadow_line(result, True)
        + (f"; {rows:,} rows logged" if logged else "")
    )
    return result


def logged_settings(servers: Servers) -> tuple[Path, dict, str]:
    """params.yaml with serving.log_predictions on (a SQLite file in the work folder), and the
    environment of a server with a BentoML store of its own (the log's settings are stored with the
    model, and the store keeps a model once per content)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    params = yaml.load(servers.params_file.read_text(encoding="utf-8"))
    params["serving"]["log_predictions"] = {"url_env": LOG_URL_ENV, "table": "predictions"}
    logged_params = servers.work / "params-logged.yaml"
    with logged_params.open("w", encoding="utf-8") as out:
        yaml.dump(params, out)
    database = servers.work / "predictions.sqlite"
    env = dict(servers.env, BENTOML_HOME=str(servers.work / "bentoml-logged"))
    env[LOG_URL_ENV] = f"sqlite:///{database}"
    return logged_params, env, str(database)


def logged_rows(database: str) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute("SELECT count(*) FROM predictions").fetchone()[0]


def split(result: dict) -> str:
    return "/".join(f"{share:.0%}" for share in result["split"])


def report(runs: dict[str, list[dict]], soaked: dict | None, concurrency: int) -> None:
    medians = {
        kind: {
            key: statistics.median(r[key] for r in results)
            for key in ("rps", "p50_ms", "p99_ms", "server_cpu_ms")
        }
        for kind, results in runs.items()
        if results
    }
    if medians:
        print(
            "\n| server | runs | req/s (median) | with/without | p50 ms | p99 ms | p99 ms, worst run "
            "| errors | server CPU ms/req | busiest worker's share | load average before |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for kind, m in medians.items():
            results = runs[kind]
            ratio = m["rps"] / medians["without"]["rps"]
            loads = [r["load_average"] for r in results]
            busiest = ", ".join(f"{r['split'][0]:.0%}" if r["split"] else "-" for r in results)
            print(
                f"| {kind} shadow | {len(results)} | {m['rps']:,.0f} | {ratio:.2f} | {m['p50_ms']:.1f} "
                f"| {m['p99_ms']:.1f} | {max(r['p99_ms'] for r in results):.1f} "
                f"| {sum(r['errors_total'] for r in results)} | {m['server_cpu_ms']:.2f} "
                f"| {busiest} "
                f"| {min(loads):.1f}-{max(loads):.1f} |"
            )
        ratio = medians["with"]["rps"] / medians["without"]["rps"]
        p99 = medians["with"]["p99_ms"]
        errors = sum(r["errors_total"] for results in runs.values() for r in results)
        print(
            f"\nTargets (A/B, c={concurrency}): with/without {ratio:.2f} (>= {TARGET['ratio']:g}): "
            f"{met(ratio >= TARGET['ratio'])}; "
            f"p99 with a shadow {p99:.1f} ms, median of runs (<= {TARGET['p99_ms']:g}): "
            f"{met(p99 <= TARGET['p99_ms'])}; errors {errors} (0): {met(errors == 0)}"
        )
    if soaked:
        s = soaked
        print(
            "\n| soak | RSS idle MB | start MB | end MB | peak MB | growth | samples | requests | req/s "
            "| p50 ms | p99 ms | errors | load average |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {s['logged']} | {s['idle_mb']:,.0f} | {s['start_mb']:,.0f} | {s['end_mb']:,.0f} "
            f"| {s['peak_mb']:,.0f} | {s['growth']:+.1%} | {s['samples']} | {s['requests_total']:,} "
            f"| {s['rps']:,.0f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['errors_total']} "
            f"| {s['load_average']:.1f} before, {s['load_average_max']:.1f} max |"
        )
        print(
            f"\nTarget (soak): RSS growth {s['growth']:+.1%} (< {TARGET['growth']:.0%}): "
            f"{met(s['growth'] < TARGET['growth'])}; "
            f"errors {s['errors_total']} (0): {met(s['errors_total'] == 0)}"
        )


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".", help="a baked project")
    parser.add_argument("--shadow-model", help="the shadow's model folder (default: artifacts/shadow)")
    parser.add_argument("--runs", type=int, default=3, help="A/B runs of each kind, alternating")
    parser.add_argument("--concurrency", type=int, default=32, help="A/B concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="A/B measured seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="A/B seconds of load before measuring")
    parser.add_argument("--soak-concurrency", type=int, default=64)
    parser.add_argument(
        "--soak-seconds", type=float, default=600.0, help="soak: measured seconds (0: no soak)"
    )
    parser.add_argument("--soak-warmup", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=30.0, help="soak: seconds between RSS samples")
    parser.add_argument("--log-predictions", action="store_true", help="soak: log predictions (SQLite)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs (path printed)")
    args = parser.parse_args()

    project = Path(args.project).resolve()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # training, if a model is missing
    work, params, model_dir, tag = prepare(project, "bench-shadow-")
    models, release = (importlib.import_module(f"{PACKAGE}.{m}") for m in ("models", "release"))
    shadow_dir = Path(args.shadow_model).resolve() if args.shadow_model else project / "artifacts" / "shadow"
    if not (shadow_dir / models.MODEL_FILE).is_file():
        print(f"Training the shadow ({shadow_dir} is missing)...", flush=True)
        subprocess.run(
            [sys.executable, "-m", PACKAGE, "train", "--out", str(shadow_dir)], check=True, cwd=project
        )
    shadow_tag = release.store_model(params, shadow_dir)
    if shadow_tag == tag:
        raise SystemExit(f"the shadow {shadow_dir} is the champion's model ({tag}): train another")
    model, info = models.load(model_dir, [])
    _, bodies, sample, expected = request_bodies(params, model, info, work)

    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"Champion: {tag} ({info.candidate}); shadow: {shadow_tag} ({shadow_dir.name})\n", flush=True)
    servers = Servers(project, work, project / "params.yaml", model_dir, shadow_dir)
    tags = {"without": None, "with": shadow_tag}
    runs = ab(servers, tags, bodies, sample, expected, args) if args.runs else {}
    soaked = soak(servers, tags, bodies, sample, expected, args) if args.soak_seconds else None
    report(runs, soaked, args.concurrency)
    if args.keep_logs:
        print(f"\nServer logs: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
