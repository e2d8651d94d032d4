"""Tier 1: the option combinations (every pair of values) bake clean, lint-free projects."""

from __future__ import annotations

import itertools
import json
import py_compile
import re
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.main import cookiecutter

from fakes.versions import NOT_STUBBED, STUBS, Read
from harness.combinations import CHOICES, COMBINATIONS, combo_id
from harness.project import BIN, TEMPLATE, bake, run

pytestmark = pytest.mark.tier1

COMMON = {
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/drift.yml",
    ".github/workflows/pr-comment.yml",
    ".github/workflows/release.yml",
    ".github/workflows/train.yml",
    ".github/zizmor.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".python-version",
    "Makefile",
    "README.md",
    "data/DATASHEET.md",
    "params.yaml",
    "pyproject.toml",
    "uv.lock",
    "src/my_ml_project/__init__.py",
    "src/my_ml_project/__main__.py",
    "src/my_ml_project/records.py",
    "src/my_ml_project/bootstrap.py",
    "src/my_ml_project/changes.py",
    "src/my_ml_project/calendar_terms.py",
    "src/my_ml_project/service_metrics.py",
    "src/my_ml_project/shadow.py",
    "src/my_ml_project/online.py",
    "src/my_ml_project/templates/online.md.j2",
    "src/my_ml_project/templates/promote-pr.md.j2",
    "src/my_ml_project/templates/shadow-issue.md.j2",
    "monitoring/grafana/dashboards/service.json",
    "monitoring/grafana/provisioning/dashboards.yaml",
    "src/my_ml_project/charts.py",
    "src/my_ml_project/cli.py",
    "src/my_ml_project/comparison.py",
    "src/my_ml_project/data.py",
    "src/my_ml_project/data_remote.py",
    "src/my_ml_project/dates.py",
    "src/my_ml_project/drift.py",
    "src/my_ml_project/errors.py",
    "src/my_ml_project/evaluation.py",
    "src/my_ml_project/labels.py",
    "src/my_ml_project/git.py",
    "src/my_ml_project/github_setup.py",
    "src/my_ml_project/model_card.py",
    "src/my_ml_project/models.py",
    "src/my_ml_project/latest_period.py",
    "src/my_ml_project/overlap.py",
    "src/my_ml_project/pr_comment.py",
    "src/my_ml_project/prediction_log.py",
    "src/my_ml_project/progress.py",
    "src/my_ml_project/quality.py",
    "src/my_ml_project/quality_report.py",
    "src/my_ml_project/payloads.py",
    "src/my_ml_project/release.py",
    "src/my_ml_project/reports.py",
    "src/my_ml_project/retraining.py",
    "src/my_ml_project/review.py",
    "src/my_ml_project/review_run.py",
    "src/my_ml_project/schema.py",
    "src/my_ml_project/schema_inference.py",
    "src/my_ml_project/service.py",
    "src/my_ml_project/settings.py",
    "src/my_ml_project/sources.py",
    "src/my_ml_project/training.py",
    "src/my_ml_project/templates/comment.md.j2",
    "src/my_ml_project/templates/drift.md.j2",
    "src/my_ml_project/templates/intake.md.j2",
    "src/my_ml_project/templates/model-card.md.j2",
    "src/my_ml_project/templates/quality.md.j2",
    "src/my_ml_project/templates/retrain-pr.md.j2",
    "src/my_ml_project/templates/schema.py.j2",
    "src/my_ml_project/templates/validation.md.j2",
}
DATA = {
    "classification": {"data/bank-marketing.csv", "data/later/bank-marketing.csv"},
    "regression": {"data/bike-sharing-hour.csv", "data/later/bike-sharing-hour.csv"},
}
PINS_FILE = TEMPLATE / ".github" / "actions" / "pins" / "action.yml"
USES = re.compile(r"^\s*-?\s*uses:\s*(.+?)\s*$", re.MULTILINE)
JINJA_MARKERS = ("{{", "{%", "{#")  # closing braces alone are ordinary Python


def expected_files(project: Path, answers: dict) -> set[str]:
    tests = {
        p.relative_to(TEMPLATE / "{{cookiecutter.project_slug}}").as_posix()
        for p in (TEMPLATE / "{{cookiecutter.project_slug}}" / "tests").rglob("*")
        if p.is_file()
    }
    license_file = set() if answers["license"] == "Proprietary" else {"LICENSE"}
    kubernetes = {"k8s.yaml", ".github/workflows/deploy.yml"} if answers["deploy"] == "kubernetes" else set()
    return COMMON | DATA[answers["task"]] | license_file | kubernetes | tests


def files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.fixture(scope="module", params=COMBINATIONS, ids=combo_id)
def baked(request, tmp_path_factory) -> tuple[Path, dict]:
    return bake(tmp_path_factory.mktemp("bake"), **request.param), request.param


def test_the_bakes_cover_every_pair_of_option_values():
    """Not the full product: each value of each question meets each value of every other once."""
    for first, second in itertools.combinations(CHOICES, 2):
        met = {(answers[first], answers[second]) for answers in COMBINATIONS}
        assert met == set(itertools.product(CHOICES[first], CHOICES[second])), (first, second)


def test_exact_file_set(baked):
    project, answers = baked
    assert files(project) == expected_files(project, answers)


def test_no_template_syntax_left(baked):
    project, _ = baked
    leftovers = []
    for path in project.rglob("*"):
        if not path.is_file() or path.suffix in {".csv", ".j2"} or path.name == "uv.lock":
            continue
        text = path.read_text(encoding="utf-8")
        if path.parent.name == "workflows":  # GitHub expressions are ${{ ... }}, not Jinja
            text = text.replace("${{", "")
        if path.parent.name == "dashboards":  # Grafana's legends name labels as {{label}}
            text = re.sub(r'"legendFormat": "[^"]*"', "", text)
        leftovers += [f"{path.relative_to(project)}: {m}" for m in JINJA_MARKERS if m in text]
    assert leftovers == []


def test_sample_data_is_copied_byte_for_byte(baked):
    project, answers = baked
    template_data = TEMPLATE / "{{cookiecutter.project_slug}}" / "data"
    for name in DATA[answers["task"]]:
        source = next(
            p
            for p in (template_data / Path(name).relative_to("data").parent).iterdir()
            if p.name.endswith(Path(name).name + "{% endif %}")
        )
        assert (project / name).read_bytes() == source.read_bytes(), name


def test_config_files_parse(baked):
    project, answers = baked
    for path in [*project.rglob("*.yml"), *project.rglob("*.yaml")]:
        parsed = list(yaml.safe_load_all(path.read_text()))  # raises on a syntax error
        assert any(parsed) or "tests/params/invalid" in path.as_posix(), path
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"] == {"my-ml-project": "my_ml_project.cli:main"}
    assert tomllib.loads((project / "uv.lock").read_text())["version"] >= 1
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["task"] == answers["task"]
    expected_license = "LicenseRef-Proprietary" if answers["license"] == "Proprietary" else answers["license"]
    assert pyproject["project"]["license"] == expected_license


def test_ruff_clean(baked):
    project, _ = baked
    run([str(BIN / "ruff"), "check", "--no-cache", "."], project)
    run([str(BIN / "ruff"), "format", "--no-cache", "--check", "."], project)


def test_workflows_pass_static_checks(baked):
    project, _ = baked
    workflows = sorted(str(p) for p in (project / ".github" / "workflows").glob("*.yml"))
    run(
        [str(BIN / "actionlint"), f"-shellcheck={shutil.which('shellcheck', path=str(BIN))}", *workflows],
        project,
    )
    run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows], project)
    run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"],
        project,
    )
    for persona in ("regular", "auditor"):  # the auditor's pedantic findings too: each fixed or explained
        run([str(BIN / "zizmor"), "--offline", "--no-progress", "--persona", persona, ".github"], project)


def test_no_job_that_can_write_runs_project_code(tmp_path):
    """Untrusted code never holds a write token: a job granted any `write` permission installs and
    runs none of the project's code (no setup-uv, no `uv`); the read-only jobs hand it data instead."""
    project = bake(tmp_path, deploy="kubernetes")
    writers = []
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            if "write" not in (job.get("permissions") or {}).values():
                continue
            writers.append(f"{path.name}:{name}")
            for step in job.get("steps", []):
                assert "setup-uv" not in step.get("uses", ""), f"{path.name}:{name} installs the project"
                assert "uv " not in step.get("run", ""), f"{path.name}:{name} runs the project's code"
    assert {"drift.yml:retrain", "drift.yml:issue", "pr-comment.yml:comment"} <= set(writers)


def test_pull_request_code_and_mains_jobs_run_on_runners_of_their_own(baked):
    """A persistent self-hosted runner shared by the review (a PR's code) and the release (main's
    secrets, the published model) would let the first poison the second: two variables."""
    project, _ = baked
    runners = {
        ("train.yml", "review"): "${{ vars.REVIEW_RUNNER || 'ubuntu-latest' }}",
        ("release.yml", "bento"): "${{ vars.TRAINING_RUNNER || 'ubuntu-latest' }}",
        ("drift.yml", "check"): "${{ vars.TRAINING_RUNNER || 'ubuntu-latest' }}",
    }
    for (workflow, job), runner in runners.items():
        jobs = yaml.safe_load((project / ".github" / "workflows" / workflow).read_text())["jobs"]
        assert jobs[job]["runs-on"] == runner, workflow
    readme = (project / "README.md").read_text()
    assert "`REVIEW_RUNNER`" in readme and "Prefer ephemeral" in readme


def test_a_change_to_the_data_remote_is_reviewed_and_its_owners_named(baked):
    """.dvc/ says where the data and its credentials go: a change to it is reviewed and released like
    data, and the README suggests code owners for it, params.yaml and .github/."""
    project, _ = baked
    workflows = project / ".github" / "workflows"
    assert " .dvc " in (workflows / "train.yml").read_text()  # the paths the review diffs
    release = yaml.safe_load((workflows / "release.yml").read_text())
    assert ".dvc/**" in release[True]["push"]["paths"]  # YAML 1.1 reads `on:` as True
    readme = (project / "README.md").read_text()
    for owned in ("/params.yaml", "/.dvc/", "/.github/"):
        assert f"\n{owned} " in readme, owned
    assert "Require review\nfrom Code Owners" in readme or "Require review from Code Owners" in readme


def test_kubernetes_manifests_are_valid(tmp_path):
    project = bake(tmp_path, deploy="kubernetes")
    run([str(BIN / "kubernetes-validate"), "--strict", "k8s.yaml"], project)
    kinds = [doc["kind"] for doc in yaml.safe_load_all((project / "k8s.yaml").read_text())]
    assert kinds == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    deployment = next(yaml.safe_load_all((project / "k8s.yaml").read_text()))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["image"] == "my-ml-project:unreleased"  # the placeholder deploy.yml replaces
    scrape = deployment["spec"]["template"]["metadata"]["annotations"]  # as the Prometheus chart reads them
    port = str(container["ports"][0]["containerPort"])
    assert scrape == {
        "prometheus.io/scrape": "true",
        "prometheus.io/path": "/metrics",
        "prometheus.io/port": port,
    }
    deploy = (project / ".github" / "workflows" / "deploy.yml").read_text()
    assert "image: my-ml-project:unreleased|image: $IMAGE" in deploy


def test_releases_deploy_by_digest_only_what_a_passing_review_vouched_for(tmp_path):
    """What act cannot show (no registry, no digest): read from the rendered release.yml."""
    project = bake(tmp_path, deploy="kubernetes")
    release = yaml.safe_load((project / ".github" / "workflows" / "release.yml").read_text())
    deploy = release["jobs"]["deploy"]
    assert deploy["if"] == "needs.bento.outputs.vouched == 'true'"
    assert deploy["with"]["image"] == "${{ needs.bento.outputs.image }}@${{ needs.image.outputs.digest }}"
    assert release["jobs"]["image"]["outputs"]["digest"] == "${{ steps.push.outputs.digest }}"
    assert release["jobs"]["review"]["if"] == "github.ref == 'refs/heads/main'"  # and bento needs it
    assert release["jobs"]["bento"]["needs"] == "review"
    paths = release[True]["push"]["paths"]  # YAML 1.1 reads `on:` as True
    assert "k8s.yaml" not in paths  # manifest-only merges: deploy.yml's own push trigger


def third_party_uses(project: Path) -> list[str]:
    """Every `uses:` of the project's workflows but this repository's own reusable workflows."""
    return [
        u
        for wf in (project / ".github" / "workflows").glob("*.yml")
        for u in USES.findall(wf.read_text())
        if not u.startswith("./")
    ]


def test_workflows_use_the_pinned_actions(baked):
    """Every action is pinned to a SHA with its version, exactly as in .github/actions/pins."""
    project, _ = baked
    pinned = set(USES.findall(PINS_FILE.read_text()))
    used = set(third_party_uses(project))
    assert used, "no actions found"
    assert used <= pinned


def pins(uses: list[str]) -> list[tuple[str, Read]]:
    """Each action of `uses:` lines (`owner/name@sha # version`) with its SHA and version."""
    found = []
    for line in uses:
        ref, _, version = line.partition("#")
        action, _, sha = ref.strip().partition("@")
        found.append((action, Read(sha, version.strip())))
    return found


def not_replayed(pinned: list[tuple[str, Read]]) -> list[str]:
    """The actions pinned at another version than the one their stub replays (tests/fakes/versions.py)."""
    wrong = []
    for action, pin in sorted(set(pinned)):
        stub = STUBS.get(action)
        if stub is None and action not in NOT_STUBBED:
            wrong.append(f"{action}: no stub declares the version it replays")
        elif stub is not None and (stub.sha, stub.version) != (pin.sha, pin.version):
            wrong.append(
                f"{action}: pinned at {pin.sha} ({pin.version}), but its stub replays {stub.sha} "
                f"({stub.version}): read the pinned version's source, then update the stub"
            )
    return wrong


def test_each_pinned_action_is_the_version_its_stub_replays():
    """A Dependabot bump of .github/actions/pins fails here until the stub is read again."""
    pinned = pins(USES.findall(PINS_FILE.read_text()))
    assert not_replayed(pinned) == []
    assert set(STUBS) <= {action for action, _ in pinned}, "a stub of an action nothing pins"


def test_workflows_use_the_versions_the_stubs_replay(baked):
    project, _ = baked
    assert not_replayed(pins(third_party_uses(project))) == []


def test_template_own_github_files_pass_static_checks():
    github = TEMPLATE / ".github"
    shellcheck = shutil.which("shellcheck", path=str(BIN))
    run(
        [
            str(BIN / "actionlint"),
            f"-shellcheck={shellcheck}",
            *map(str, (github / "workflows").glob("*.yml")),
        ],
        TEMPLATE,
    )
    run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(PINS_FILE)], TEMPLATE
    )
    run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.dependabot",
            str(github / "dependabot.yml"),
        ],
        TEMPLATE,
    )
    for persona in ("regular", "auditor"):
        run([str(BIN / "zizmor"), "--offline", "--no-progress", "--persona", persona, str(github)], TEMPLATE)


def test_lock_is_current(baked):
    """The shipped uv.lock matches pyproject.toml; if this fails, run scripts/lock-project."""
    project, _ = baked
    run([str(BIN / "uv"), "lock", "--check", "--offline"], project)


def test_cookiecutter_json_prompts_are_few_and_explained():
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    prompted = [k for k in config if not k.startswith("_")]
    assert len(prompted) <= 8
    assert set(prompted) <= set(config["__prompts__"])


def test_template_own_python_is_ruff_clean():
    paths = ["tests", "benchmarks", "hooks"]
    run([str(BIN / "ruff"), "check", "--no-cache", *paths], TEMPLATE)
    run([str(BIN / "ruff"), "format", "--no-cache", "--check", *paths], TEMPLATE)


CACHES = ("__pycache__", ".pytest_cache", ".ruff_cache")


def test_a_stray_cache_in_the_template_neither_breaks_a_bake_nor_lands_in_the_project(tmp_path):
    """Python or ruff run inside a local clone's template folder leave caches there, whose bytes
    cookiecutter would render as Jinja (UnicodeDecodeError) or copy into the project."""
    template, slug = tmp_path / "template", "{{cookiecutter.project_slug}}"
    for folder in ("hooks", slug):
        shutil.copytree(TEMPLATE / folder, template / folder, ignore=shutil.ignore_patterns(*CACHES))
    shutil.copy(TEMPLATE / "cookiecutter.json", template)
    package, tests = template / slug / "src" / "{{cookiecutter.__package_name}}", template / slug / "tests"
    pyc = package / "__pycache__" / "x.cpython-311.pyc"
    py_compile.compile(str(package / "progress.py"), cfile=str(pyc), doraise=True)
    run([str(BIN / "ruff"), "check", "--isolated", "--exit-zero", "--quiet", "."], tests)  # a real cache
    entries = list((tests / ".ruff_cache").glob("*/*"))
    assert (tests / ".ruff_cache" / "CACHEDIR.TAG").is_file() and entries
    # An entry without a NUL byte, which cookiecutter's binary check takes for text: rendered, it fails.
    entries[0].with_name("42").write_bytes(f"{tests}/test_x.py".encode() + b"\xff")
    with pytest.raises(UnicodeDecodeError):
        pyc.read_text(encoding="utf-8")

    project = Path(cookiecutter(str(template), no_input=True, output_dir=str(tmp_path / "out")))
    assert (project / "src" / "my_ml_project" / "progress.py").is_file()
    assert [p for p in project.rglob("*") if p.name in CACHES] == []
    for cache in CACHES:  # and the template's own repository never commits one
        run(["git", "check-ignore", "-q", f"{slug}/src/{cache}/x"], TEMPLATE)


def test_the_readme_says_what_the_service_leaves_to_a_proxy(baked):
    """No authentication, rate limits or header timeouts; any client can write the prediction log the
    drift check trusts: the README says so, with the recipe."""
    project, _ = baked
    readme = (project / "README.md").read_text()
    start = readme.index("What the service does not do")
    said = readme[start : start + 2500]
    for point in ("authentication", "rate limit", "timeout", "prediction log", "read-only", "retention"):
        assert point in said.lower(), point
