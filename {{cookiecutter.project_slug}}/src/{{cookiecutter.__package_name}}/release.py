"""From a trained model folder to a release: the BentoML store, the bento, the reviewed-metrics check.

The model enters the store under a version derived from its content, so the same model always has
the same tag, and the bento pins that tag. The bento's Python requirements are exported from
uv.lock with their hashes: the container runs exactly the versions the tests ran with, and building
needs no network. The image starts from Astral's Python image carrying the uv that exported them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import data, models, progress, records
from .errors import ModelError, ProjectError
from .settings import Params

PACKAGE = __package__
SERVICE = f"{PACKAGE}.service:Predictor"
SOURCES = Path(__file__).resolve().parents[1]  # src/: the package goes into the bento as a package
PROJECT = SOURCES.parent  # pyproject.toml and uv.lock


def store_model(params: Params, model_dir: Path) -> str:
    """Put a trained model folder into the BentoML store (once per content); return its tag."""
    import bentoml

    models.load(model_dir, params.train.trusted_types)  # refuse a broken or untrusted folder
    tag = models.model_tag(model_dir)
    try:
        return str(bentoml.models.get(tag).tag)
    except bentoml.exceptions.NotFound:
        pass
    metrics = records.read_training_record(model_dir)
    labels = {"candidate": metrics["chosen"], "task": metrics["task"]}
    metadata = {"commit": metrics["git"]["commit"] or "unknown", "primary_metric": metrics["primary_metric"]}
    with bentoml.models.create(tag, labels=labels, metadata=metadata) as stored:
        for name in (models.MODEL_FILE, models.META_FILE, models.SCHEMA_FILE, records.METRICS_FILE):
            shutil.copyfile(model_dir / name, stored.path_of(name))
        # The service loads the model with the types trusted here: params.yaml at this commit.
        serving = {**params.serving.model_dump(mode="json"), "trusted_types": params.train.trusted_types}
        data.write_json(Path(stored.path_of(models.SERVING_FILE)), serving)
    return tag


def uv_export(*options: str) -> str:
    """`uv export` of the runtime dependencies locked in uv.lock (no dev group), never re-locking."""
    if not (PROJECT / "uv.lock").is_file():
        raise ProjectError(f"build: no uv.lock in {PROJECT}; build from a checkout of the project")
    uv = shutil.which("uv")
    if uv is None:
        raise ProjectError("build: uv is not on PATH (it exports the locked requirements for the bento)")
    command = [uv, "export", "--frozen", "--no-dev", "--no-header", "--quiet", *options]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ProjectError(f"build: `uv export` failed: {done.stderr.strip()}")
    return done.stdout


def locked_requirements() -> list[str]:
    """The runtime dependencies pinned in uv.lock, one per line with their markers and hashes
    (`name==version ; marker --hash=sha256:...`), for the bento: the image's `uv pip install`
    checks every wheel it downloads against them."""
    text = uv_export("--no-emit-project", "--no-annotate")
    text = re.sub(r"[ \t]*\\\n\s*", " ", text)  # uv continues a requirement's hashes over lines
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def uv_version() -> str:
    """The version (X.Y.Z) of the uv on PATH, the one that exports the requirements."""
    uv = shutil.which("uv") or "uv"
    done = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False)
    found = re.match(r"uv (\d+\.\d+\.\d+)", done.stdout)
    if found is None:
        raise ProjectError(f"build: cannot read uv's version from {(done.stdout or done.stderr).strip()!r}")
    return found.group(1)


def base_image() -> str:
    """BentoML's default base (`python:X.Y-slim`, Debian trixie, this interpreter's X.Y) with this uv.

    BentoML's Dockerfile installs the latest uv from PyPI (`pip install uv`) unless one is on PATH:
    Astral's image brings the exact uv that exported the requirements, so nothing is fetched unpinned.
    """
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"ghcr.io/astral-sh/uv:{uv_version()}-python{python}-trixie-slim"


def write_sbom(out: Path) -> Path:
    """The CycloneDX 1.5 SBOM of what the bento installs: the project and the runtime packages locked
    in uv.lock (each with its version, purl, and the hashes of its files), written by uv itself."""
    sbom = uv_export("--format", "cyclonedx1.5", "--preview-features", "sbom-export")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(sbom)
    return out


def build(params: Params, model_dir: Path, champion_bento: Path | None = None) -> tuple[str, str, str | None]:
    """Store the model and build the bento (source, locked requirements, pinned model tags). With
    `champion_bento` (serving.champion_release's bento), its model answers and this one is the shadow.

    Returns (bento tag, the answering model's tag, the shadow's tag or None)."""
    import os

    with progress.step("Importing BentoML"):
        import bentoml

    with progress.step("Storing the model in BentoML's model store") as note:
        model_tag = store_model(params, model_dir)
        note["result"] = model_tag
    shadow_tag = None
    if champion_bento is not None:
        with progress.step(f"Taking the champion from {champion_bento.name}") as note:
            model_tag, shadow_tag = champion_from(champion_bento), model_tag
            note["result"] = f"{model_tag} answers; {shadow_tag} is its shadow"
    # The service module resolves these exact models while building, and the bento keeps them.
    os.environ["MODEL_TAG"], os.environ["SHADOW_TAG"] = model_tag, shadow_tag or ""
    requirements, image = locked_requirements(), base_image()
    with progress.step("Building the service's bento") as note:
        try:
            bento = bentoml.bentos.build(
                SERVICE,
                name=models.BENTO_NAME,
                build_ctx=str(SOURCES),
                include=[f"{PACKAGE}/**/*.py", f"{PACKAGE}/templates/*"],
                labels={
                    "model": model_tag.replace(":", "."),
                    "candidate": models.read_info(Path(bentoml.models.get(model_tag).path)).candidate,
                    **({"shadow": shadow_tag.replace(":", ".")} if shadow_tag else {}),
                },
                python={"packages": requirements, "lock_packages": False},
                docker={"base_image": image},
                models=[model_tag, *([shadow_tag] if shadow_tag else [])],
            )
        except bentoml.exceptions.BentoMLException as err:
            raise ModelError(f"build: bentoml could not build the service: {err}") from None
        note["result"] = str(bento.tag)
    return str(bento.tag), model_tag, shadow_tag


def download_champion(release: str, repo: str, out: Path, verify: bool) -> Path:
    """serving.champion_release's bento from that GitHub Release (gh release download), checked
    against its build-provenance attestation when `verify` (release.yml attests every bento)."""
    gh = shutil.which("gh")
    if gh is None:
        raise ProjectError("fetch-champion: gh (GitHub's CLI) is not on PATH")
    name = f"{models.BENTO_NAME}.bento"
    out.mkdir(parents=True, exist_ok=True)
    commands = [
        [
            gh,
            "release",
            "download",
            release,
            "--repo",
            repo,
            "--pattern",
            name,
            "--dir",
            str(out),
            "--clobber",
        ]
    ]
    if verify:
        workflow = f"{repo}/.github/workflows/release.yml"  # attested by this repository's release job
        commands.append(
            [gh, "attestation", "verify", str(out / name), "--repo", repo, "--signer-workflow", workflow]
        )
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip()
            raise ProjectError(f"fetch-champion: `gh {' '.join(command[1:3])}` for {release} failed: {said}")
    return out / name


def champion_from(bento_file: Path) -> str:
    """Import a release's bento (its models with it) and return the tag of the model that answers
    in it, checked to load with its own trusted types and schema; ModelError naming what is wrong."""
    import bentoml

    if not bento_file.is_file():
        raise ProjectError(f"no champion bento at {bento_file} (serving.champion_release's bento)")
    from bentoml._internal.bento import Bento  # what bentoml.import_bento reads and then saves

    try:
        bento = Bento.import_from(str(bento_file.resolve()))
    except Exception as err:  # fsspec and tarfile raise their own
        raise ModelError(f"{bento_file} is not a bento BentoML can read: {err}") from None
    try:
        bento = bentoml.bentos.get(bento.tag)  # imported before (a rebuild on the same machine)
    except bentoml.exceptions.NotFound:
        bento = bento.save()  # its models go into the model store with it
    label = bento.info.labels.get("model", "")
    tag = ":".join(label.rsplit(".", 1))  # labels hold name.version: ':' is not allowed in them
    if tag not in {str(m.tag) for m in bento.info.models}:
        raise ModelError(f"{bento_file} does not say which of its models answers (label model={label!r})")
    path = Path(bentoml.models.get(tag).path)
    serving = json.loads((path / models.SERVING_FILE).read_text(encoding="utf-8"))
    models.load(path, serving.get("trusted_types", []))
    models.read_schema(path)
    return tag


def champion_folder(bento_file: Path) -> Path:
    """The folder of the model that answers in a release's bento (imported into BentoML's store)."""
    with progress.step(f"Importing BentoML and the champion from {bento_file.name}"):
        import bentoml

        return Path(bentoml.models.get(champion_from(bento_file)).path)


def export(bento_tag: str, out: Path) -> Path:
    """The bento with its model, as one archive (`bentoml import` it anywhere)."""
    import bentoml

    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(bentoml.export_bento(bento_tag, str(out.resolve())))  # fsspec: relative means from /


VERDICTS = {"better", "no significant change", "worse", "no champion", "not comparable", "champion failed"}


def check_review(
    metrics: records.TrainingRecord, reviewed: Path | None, pr: int | None, conclusion: str | None
) -> dict:
    """Compare the model trained for release with the challenger its pull request reviewed.

    `pr` and `conclusion` come from GitHub's API (the merged pull request, its review run's
    outcome), never from the artifact, which the pull request's own code wrote. Training is
    deterministic, so the same code, params and data give exactly the same record: any difference
    means the release is not what was reviewed (e.g. another change landed in between), and raises
    with both values. A release is vouched for (published as a full release and deployed) only
    when its review matched and passed; otherwise the card says why.
    """
    review = {"status": "unreviewed", "pr": pr, "conclusion": conclusion, "verdict": None, "vouched": False}
    if reviewed is None or not (reviewed / records.REVIEWED_METRICS_FILE).is_file():
        return review
    before = records.read_training_record(reviewed, records.REVIEWED_METRICS_FILE)
    differences = [
        f"{name} hash: reviewed {before['hashes'][name][:12]}, released {metrics['hashes'][name][:12]}"
        for name in ("data", "holdout", "schema", "params")
        if before["hashes"][name] != metrics["hashes"][name]
    ]
    if before["chosen"] != metrics["chosen"]:
        differences.append(f"chosen candidate: reviewed {before['chosen']}, released {metrics['chosen']}")
    reviewed_values, released_values = before["holdout"]["metrics"], metrics["holdout"]["metrics"]
    differences += [
        f"holdout {name}: reviewed {reviewed_values.get(name)!r}, released {value!r}"
        for name, value in released_values.items()
        if reviewed_values.get(name) != value
    ]
    if differences:
        where = f"pull request #{pr}" if pr else "its pull request"
        raise ModelError(
            f"the model trained for release differs from the one {where} reviewed:\n  "
            + "\n  ".join(differences)
        )
    verdict = reviewed_verdict(reviewed)
    return {**review, "status": "match", "verdict": verdict, "vouched": conclusion == "success"}


def reviewed_verdict(reviewed: Path) -> str | None:
    """The verdict in the review's comparison.json, if it got that far (one of VERDICTS, else None)."""
    try:
        verdict = records.read_verdict(reviewed)
    except ModelError:  # missing or malformed: the review did not get that far
        return None
    return verdict if verdict in VERDICTS else None
