"""Load the served model with single-record requests: BentoML batched, BentoML unbatched, plain FastAPI.

Starts each server in turn on 127.0.0.1 and loads it from a separate load-generator process (asyncio
on uvloop, raw HTTP/1.1 keep-alive connections; its CPU use is printed so it can be seen not to be
the bottleneck) at several concurrencies, each for a fixed time after a warm-up. Servers:

- `bentoml batched`: the project's service as `serve` runs it (`bentoml serve <package>.service:Predictor`);
- `bentoml unbatched`: the same service class with `batchable` off (a module written to a temp dir);
- `fastapi`: what a user would write by hand: FastAPI + uvicorn, one worker, the same pydantic
  records, model and `models.predict_frame` (access log off).

Before loading, each server must answer a 20-record request with exactly the in-process predictions
and refuse an invalid record (BentoML: 400, FastAPI: 422). Also prints the in-process ceiling:
`models.predict_frame` on 1, 64 and 512 rows (rows/s, one thread). Trains the model first if
artifacts/model is missing.
Run it from anywhere with a baked project's environment, with FastAPI added to it (the baseline):

    uv pip install --python <baked project>/.venv fastapi
    uv run --project <baked project> python benchmarks/serving.py --project <baked project>

BentoML's store is a temp folder unless BENTOML_HOME is set. About 3 minutes. The machine's load
average is printed before each load: other work on the machine shows up as lower throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

PACKAGE = os.environ.get("BENCH_PACKAGE", "my_ml_project")  # the default bake's package
CONCURRENCY = [1, 8, 32, 64]
SERVERS = {"fastapi": "fastapi", "unbatched": "bentoml unbatched", "batched": "bentoml batched"}
TARGET = {"ratio_c32": 10.0, "p99_c32_ms": 200.0, "p50_c1_ms": 15.0}

UNBATCHED = """
import bentoml

from {package} import service as project

base = project.Predictor
# The project's class and API function, with batchable off (a plain @bentoml.api).
Unbatched = bentoml.service(name=base.name, **base.config)(
    type("Predictor", (base.inner,), {{"predict": bentoml.api(base.inner.predict.func)}})
)
"""

FASTAPI = """
import os
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel, Field

from {package} import models, schema
from {package}.records import MAX_RECORDS, Prediction, record_model

model, info = models.load(Path(os.environ["MODEL_DIR"]), [])
FEATURES = info.numeric + info.categorical
Record = record_model(schema.TrainingData.to_schema(), FEATURES, info.target)
COLUMNS = list(Record.model_fields)
TAG = os.environ["MODEL_TAG"]
CLASSES = [str(c) for c in getattr(model, "classes_", [])]


class Body(BaseModel):
    records: Annotated[list[Record], Field(min_length=1, max_length=MAX_RECORDS)]


app = FastAPI()


@app.post("/predict")
def predict(body: Body) -> list[Prediction]:
    frame = pd.DataFrame.from_records([r.__dict__ for r in body.records], columns=COLUMNS)
    out = models.predict_frame(model, frame[FEATURES])
    values = out["prediction"].tolist()
    if not CLASSES:
        return [Prediction(prediction=v, model=TAG) for v in values]
    probabilities = out.drop(columns="prediction").to_numpy().tolist()
    return [
        Prediction(prediction=v, probabilities=dict(zip(CLASSES, p, strict=True)), model=TAG)
        for v, p in zip(values, probabilities, strict=True)
    ]
"""


# ----------------------------------------------------------------------------------------------
# The load generator (runs as its own process: `serving.py --loadgen ...`)


async def one_connection(port: int, bodies: list[bytes], offset: int, stop: float, log: list) -> None:
    """Send requests back to back on one keep-alive connection until `stop`; log (start, end, status)."""
    reader = writer = None
    i = offset
    while time.perf_counter() < stop:
        body = bodies[i % len(bodies)]
        i += 1
        request = (
            f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        start = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status, close = await asyncio.wait_for(read_response(reader), timeout=60)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            status, close = 0, True
        log.append((start, time.perf_counter(), status))
        if close and writer is not None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
    if headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readline()).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(int(headers.get("content-length", 0)))
    return status, headers.get("connection") == "close"


async def load(port: int, bodies: list[bytes], concurrency: int, warmup: float, seconds: float) -> dict:
    log: list = []
    begin = time.perf_counter()
    cpu = time.process_time()
    window = (begin + warmup, begin + warmup + seconds)
    await asyncio.gather(*(one_connection(port, bodies, k * 7, window[1], log) for k in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - begin
    done = [(end - start, status) for start, end, status in log if window[0] <= end <= window[1]]
    latencies = sorted(latency for latency, status in done if status == 200)
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": 1000 * quantile(latencies, 0.50),
        "p99_ms": 1000 * quantile(latencies, 0.99),
        "errors": sum(status != 200 for _, status in done),
        "requests_total": len(log),
        "errors_total": sum(status != 200 for _, _, status in log),  # the warm-up's included
        "loadgen_cpu": cpu / wall,
    }


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def loadgen_main(args: argparse.Namespace) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    bodies = [line.encode() for line in Path(args.bodies).read_text().splitlines()]
    result = asyncio.run(load(args.port, bodies, args.concurrency[0], args.warmup, args.seconds))
    print(json.dumps(result))


# ----------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, payload: dict) -> tuple[int, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@contextlib.contextmanager
def server(command: list[str], env: dict, cwd: Path, port: int, log_file: Path, ready: str):
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited ({process.returncode}); see {log_file}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}") as r:
                if r.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not up after 180 s; see {log_file}")
            time.sleep(0.5)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tree_cpu_seconds(pid: int) -> float:
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = p.cpu_times()
                total += times.user + times.system
    except psutil.NoSuchProcess:
        pass
    return total


def check(port: int, sample: list[dict], expected, refused: int) -> None:
    """The server's predictions equal the in-process ones; a bad record is refused (`refused`)."""
    status, answer = post(port, {"records": sample})
    if status != 200:
        raise RuntimeError(f"check request failed: {status} {answer!r}")
    got = [a["prediction"] for a in answer]
    if got != [str(v) for v in expected["prediction"]]:
        raise RuntimeError("served predictions differ from in-process ones")
    probabilities = [list(a["probabilities"].values()) for a in answer if a.get("probabilities")]
    if probabilities and probabilities != expected.drop(columns="prediction").to_numpy().tolist():
        raise RuntimeError("served probabilities differ from in-process ones")
    bad = dict(sample[0], age="42")  # strict: a string is not a number
    status, _ = post(port, {"records": [bad]})
    if status != refused:
        raise RuntimeError(f"an invalid record got HTTP {status}, not {refused}")


# ----------------------------------------------------------------------------------------------
# The benchmark


def ceiling(model, features, repeats: int) -> list[tuple[int, float, float]]:
    """(rows, ms per call, rows/s) of models.predict_frame, medians of `repeats` calls."""
    import importlib

    models = importlib.import_module(f"{PACKAGE}.models")
    rows_out = []
    for rows in (1, 64, 512):
        frame = features.head(rows).reset_index(drop=True)
        for _ in range(5):
            models.predict_frame(model, frame)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            models.predict_frame(model, frame)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        rows_out.append((rows, 1000 * median, rows / median))
    return rows_out


def run_load(port: int, bodies: Path, concurrency: int, args: argparse.Namespace, env: dict) -> dict:
    """One load from a fresh load-generator process; its JSON result."""
    command = [sys.executable, __file__, "--loadgen", "--port", str(port), "--bodies", str(bodies)]
    command += [
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(args.warmup),
        "--seconds",
        str(args.seconds),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr}")
    return json.loads(done.stdout)


def prepare(project: Path, prefix: str) -> tuple[Path, object, Path, str]:
    """Work in the baked project with its package importable and a BentoML home of the benchmark's
    own; train the model if needed and store it. Returns (work folder, params, model folder, tag)."""
    os.chdir(project)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # servers and load generator: compiled imports
    os.environ["BENTOML_DO_NOT_TRACK"] = "true"
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("BENTOML_HOME", str(work / "bentoml"))
    sys.path.insert(0, str(project / "src"))
    settings, models, release = (
        importlib.import_module(f"{PACKAGE}.{m}") for m in ("settings", "models", "release")
    )
    params = settings.load_params(project / "params.yaml")
    model_dir = project / "artifacts" / "model"
    if not (model_dir / models.MODEL_FILE).is_file():
        print("Training the model (artifacts/model is missing)...", flush=True)
        subprocess.run([sys.executable, "-m", PACKAGE, "train"], check=True, cwd=project)
    return work, params, model_dir, release.store_model(params, model_dir)


def request_bodies(params, model, info, work: Path) -> tuple[object, Path, list[dict], object]:
    """500 distinct real rows of the training data (a frame of the model's features), each as a
    one-record body (a line of work/bodies.jsonl), and the first 20 as records with their in-process
    predictions (for `check`). Returns (rows, bodies file, those records, their predictions)."""
    data, models = (importlib.import_module(f"{PACKAGE}.{m}") for m in ("data", "models"))
    features = info.numeric + info.categorical
    table = data.load_training_data(params)
    rows = table[features].sample(n=500, random_state=0).reset_index(drop=True)
    records = json.loads(rows.to_json(orient="records"))
    bodies = work / "bodies.jsonl"
    bodies.write_text("\n".join(json.dumps({"records": [r]}, separators=(",", ":")) for r in records))
    return rows, bodies, records[:20], models.predict_frame(model, rows.head(20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".", help="a baked project")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per load")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    parser.add_argument("--concurrency", type=int, nargs="+", default=CONCURRENCY)
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs (path printed)")
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bodies", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        loadgen_main(args)
        return

    project = Path(args.project).resolve()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the ceiling: one thread, like each service worker
    work, params, model_dir, tag = prepare(project, "bench-serving-")
    models = importlib.import_module(f"{PACKAGE}.models")
    import bentoml

    stored_path = bentoml.models.get(tag).path
    model, info = models.load(model_dir, [])
    rows, bodies, sample, expected = request_bodies(params, model, info, work)

    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"Model: {tag} ({info.candidate}); {args.warmup:g} s warm-up + {args.seconds:g} s per load\n")
    print("In-process ceiling, `models.predict_frame` (one thread, median of repeats):\n")
    print("| rows per call | ms per call | rows/s |")
    print("|---:|---:|---:|")
    for n, ms, per_second in ceiling(model, rows, repeats=50):
        print(f"| {n} | {ms:.2f} | {per_second:,.0f} |")
    print(flush=True)

    (work / "bench_unbatched.py").write_text(textwrap.dedent(UNBATCHED.format(package=PACKAGE)))
    (work / "bench_fastapi.py").write_text(textwrap.dedent(FASTAPI.format(package=PACKAGE)))
    env = dict(os.environ, MODEL_TAG=tag, MODEL_DIR=stored_path)
    env["PYTHONPATH"] = os.pathsep.join([str(work), str(project / "src")])
    env.pop("OMP_NUM_THREADS")  # each server decides for itself
    bento = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1"]
    uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--workers", "1", "--no-access-log"]
    commands = {
        "fastapi": [*uvicorn, "bench_fastapi:app"],
        "unbatched": [*bento, "bench_unbatched:Unbatched", "--working-dir", str(work)],
        "batched": [*bento, f"{PACKAGE}.service:Predictor"],  # as the `serve` verb runs it
    }
    results: dict[tuple[str, int], dict] = {}
    for kind in args.servers:
        port = free_port()
        command = [*commands[kind], "--port", str(port)]
        ready = "/openapi.json" if kind == "fastapi" else "/readyz"
        with server(command, env, project, port, work / f"{kind}.log", ready) as process:
            check(port, sample, expected, refused=422 if kind == "fastapi" else 400)
            for concurrency in args.concurrency:
                load_average = os.getloadavg()[0]
                cpu = tree_cpu_seconds(process.pid)
                result = run_load(port, bodies, concurrency, args, env)
                result["server_cpu_ms"] = (
                    1000 * (tree_cpu_seconds(process.pid) - cpu) / result["requests_total"]
                )
                results[(kind, concurrency)] = result
                print(
                    f"  {SERVERS[kind]:<18} c={concurrency:<3} {result['rps']:7.1f} req/s  "
                    f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
                    f"errors {result['errors']}  (load average before: {load_average:.1f})",
                    flush=True,
                )

    print(
        "\n| server | concurrency | req/s | vs fastapi | p50 ms | p99 ms | errors "
        "| server CPU ms/req | load generator CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in args.servers:
        for concurrency in args.concurrency:
            r = results[(kind, concurrency)]
            base = results.get(("fastapi", concurrency))
            ratio = f"{r['rps'] / base['rps']:.1f}x" if base and base["rps"] else "-"
            print(
                f"| {SERVERS[kind]} | {concurrency} | {r['rps']:,.0f} | {ratio} | {r['p50_ms']:.1f} "
                f"| {r['p99_ms']:.1f} | {r['errors']} | {r['server_cpu_ms']:.2f} | {r['loadgen_cpu']:.0%} |"
            )
    batched, fastapi = results.get(("batched", 32)), results.get(("fastapi", 32))
    if batched and fastapi and ("batched", 1) in results:
        one = results[("batched", 1)]
        print(
            f"\nTargets (batched): c=32 {batched['rps'] / fastapi['rps']:.1f}x fastapi "
            f"(>= {TARGET['ratio_c32']:g}x), p99 {batched['p99_ms']:.0f} ms (<= {TARGET['p99_c32_ms']:g}), "
            f"{batched['errors']} errors (0); c=1 p50 {one['p50_ms']:.1f} ms (<= {TARGET['p50_c1_ms']:g})"
        )
    if args.keep_logs:
        print(f"\nServer logs: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
