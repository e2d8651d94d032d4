"""Data beyond git: a team moves the training data to a DVC remote with `data-remote`, as the
project README says (`uv add 'dvc[s3]'`, then the verb), against a folder and against an S3 API
server on loopback (moto). Then, as the workflows run them: a fresh clone fetches the data with
`fetch-data` (the remote's credentials in $DVC_REMOTE_CONFIG, as the secret passes them);
`retrain-data` appends labelled rows, pushes the new version and changes only the pointer file; and
the pull request's review (the commands train.yml runs) fetches the base's version in the
champion's worktree and shows both versions' content hashes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from harness.params import use_candidates
from harness.project import BIN, UV, bake, cli, commit, git, git_init, run

pytestmark = [pytest.mark.slow, pytest.mark.tier3]
DATA = "data/bank-marketing.csv"
LOCAL = ".dvc/config.local"  # where the verbs put $DVC_REMOTE_CONFIG while DVC needs it


@pytest.fixture(scope="module")
def s3_server():
    """moto's standalone S3 server on a free loopback port, with an empty bucket."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(BIN / "moto_server"), "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    import boto3  # moto's own dependency

    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                      aws_secret_access_key="testing", region_name="us-east-1")  # fmt: skip
    for _ in range(100):
        try:
            s3.create_bucket(Bucket="ml-data")
            break
        except Exception:  # not listening yet
            time.sleep(0.1)
    yield endpoint, s3
    server.terminate()
    server.wait()


def remote_for(kind: str, tmp: Path, request) -> tuple[str, dict, callable]:
    """The remote's URL, the environment the workflows give (the secret), and its stored objects."""
    if kind == "folder":
        folder = tmp / "remote"
        return str(folder), {}, lambda: sorted(p.name for p in folder.rglob("*") if p.is_file())
    endpoint, s3 = request.getfixturevalue("s3_server")
    secret = (  # what a team stores as the DVC_REMOTE_CONFIG secret: DVC's config syntax
        "['remote \"storage\"']\n"
        f"    endpointurl = {endpoint}\n    access_key_id = testing\n    secret_access_key = testing\n"
    )
    objects = s3.list_objects_v2
    return (
        "s3://ml-data/project",
        {"DVC_REMOTE_CONFIG": secret},
        lambda: sorted(o["Key"].rsplit("/", 1)[-1] for o in objects(Bucket="ml-data").get("Contents", [])),
    )


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_training_data_in_a_dvc_remote(kind, tmp_path, request):
    url, secret, stored = remote_for(kind, tmp_path, request)
    project = bake(tmp_path / "bake")
    use_candidates(project, {"linear": {"estimator": "linear"}})
    git_init(project)
    original = (project / DATA).read_bytes()

    # Without DVC installed, the verb says how to add it, and nothing changes.
    refused = cli(project, "data-remote", url, check=False)
    assert refused.returncode == 1 and "uv add 'dvc[s3]'" in refused.stderr
    assert not (project / ".dvc").exists()
    run([UV, "add", "dvc[s3]"], project)  # the README's step: the locked version
    commit(project, "add DVC")

    (project / DATA).rename(tmp_path / "aside.csv")  # nothing to move: said, and DVC not started
    missing = cli(project, "data-remote", url, check=False, **secret)
    assert missing.returncode == 1 and f"data-remote: data.path {DATA} is not there" in missing.stderr
    assert not (project / ".dvc").exists()
    (tmp_path / "aside.csv").rename(project / DATA)
    moved = cli(project, "data-remote", url, **secret)
    assert f"Pushed {DATA} to {url}" in moved.stdout
    assert not (project / LOCAL).exists()  # the credentials lived for the upload only
    staged = run(["git", "diff", "--cached", "--name-status"], project).stdout.split("\n")
    assert f"D\t{DATA}" in staged and f"A\t{DATA}.dvc" in staged and "A\t.dvc/config" in staged
    assert (project / DATA).read_bytes() == original  # still here, now ignored by git
    md5 = hashlib.md5(original).hexdigest()
    assert md5[2:] in stored()  # DVC stores content by its md5
    git(project, "commit", "-qm", "training data in DVC")  # what data-remote staged
    assert "analytics = false" in (project / ".dvc" / "config").read_text()

    # A fresh clone (a workflow's checkout): the data is fetched, byte for byte.
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    missing = cli(clone, "validate", check=False)
    assert missing.returncode == 1 and "kept by DVC (bank-marketing.csv.dvc)" in missing.stderr
    assert "`uv run dvc pull`" in missing.stderr
    fetched = cli(clone, "fetch-data", **secret)
    assert f"Fetched {DATA}" in fetched.stdout and (clone / DATA).read_bytes() == original
    assert not (clone / LOCAL).exists()  # no credential outlives the step

    # The drift job's retrain-data: rows appended, the new version pushed, the PR carries the pointer.
    run(["git", "checkout", "-q", "-b", "retrain"], clone)
    cli(clone, "simulate-drift", "--rows", "600", "--out", "data/current/batch.csv")
    stage = tmp_path / "stage"
    added = cli(clone, "retrain-data", "--body", str(tmp_path / "body.md"), "--stage", str(stage), **secret)
    assert "600" in added.stdout
    changed = run(["git", "status", "--porcelain"], clone).stdout.split("\n")
    assert f" M {DATA}.dvc" in changed and f" M {DATA}" not in changed  # git never sees the CSV
    staged_files = sorted(str(p.relative_to(stage)) for p in stage.rglob("*.*"))
    assert staged_files == [f"{DATA}.dvc", "data/manifest.json"]
    new_md5 = hashlib.md5((clone / DATA).read_bytes()).hexdigest()
    assert new_md5 != md5 and new_md5[2:] in stored()
    assert not (clone / LOCAL).exists()
    shutil.rmtree(clone / "data" / "current")
    commit(clone, "retrain on drifted data")

    # Its review: the champion's worktree fetches main's version (the step's own secret, as train.yml
    # gives it: fetch-data removed the checkout's copy).
    out = "reports/pr"
    cli(clone, "holdout", "--out", f"{out}/holdout.csv")
    cli(clone, "score", "--holdout", f"{out}/holdout.csv", "--out", f"{out}/challenger")
    cli(clone, "score", "--holdout", f"{out}/holdout.csv", "--out", f"{out}/champion", "--ref", "origin/main",
        **secret)  # fmt: skip
    status = json.loads((clone / out / "champion" / "status.json").read_text())
    assert status["status"] == "ok", status
    assert (clone / out / "champion" / "base-data.csv").read_bytes() == original
    cli(clone, "compare", "--holdout", f"{out}/holdout.csv", "--champion", f"{out}/champion",
        "--challenger", f"{out}/challenger", "--base", "origin/main", "--out", out)  # fmt: skip
    record = json.loads((clone / out / "comparison.json").read_text())
    assert record["changes"]["data_version"] == {"base": md5, "head": new_md5}
    assert record["changes"]["data"]["added"] == 600 and record["changes"]["data"]["removed"] == 0
    comment = (clone / out / "comment.md").read_text()
    assert f"Training data version (DVC, md5): `{md5[:12]}` → `{new_md5[:12]}`" in comment
    assert record["champion"]["status"]["status"] == "ok" and record["holdout"]["compared"] > 0

    # Without the base's data, compare refuses instead of scoring rows the champion trained on.
    (clone / out / "champion" / "base-data.csv").unlink()
    refused = cli(clone, "compare", "--holdout", f"{out}/holdout.csv", "--champion", f"{out}/champion",
                  "--challenger", f"{out}/challenger", "--base", "origin/main", "--out", out,
                  check=False)  # fmt: skip
    assert refused.returncode == 1
    assert "kept by DVC and the champion's step did not fetch it" in refused.stderr


def test_the_dvc_secrets_reach_only_the_steps_that_use_them(default_project):
    """Each step that runs DVC gets the secret in its own env (the verb writes .dvc/config.local and
    removes it when it ends): no job or workflow holds it, so no later step finds it on disk."""
    holders = {}
    for path in sorted((default_project / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        assert "DVC_REMOTE" not in str(workflow.get("env")), path.name
        for name, job in workflow["jobs"].items():
            assert "DVC_REMOTE" not in str(job.get("env")), f"{path.name}:{name}"
            for step in job.get("steps", []):
                secret = (step.get("env") or {}).get("DVC_REMOTE_CONFIG")
                if secret:
                    verb = step["run"].split("my-ml-project", 1)[1].split()[0]  # what the step runs
                    holders.setdefault(secret, []).append(f"{path.name}:{name}:{verb}")
    assert holders["${{ secrets.DVC_REMOTE_WRITE_CONFIG }}"] == ["drift.yml:check:retrain-data"]
    read = holders.pop("${{ secrets.DVC_REMOTE_CONFIG }}")
    assert {h.rsplit(":", 1)[1] for h in read} == {"fetch-data", "score"}
    assert [h for h in read if h.endswith(":score")] == ["train.yml:review:score"]  # the champion's
    assert len(holders) == 1  # no other secret becomes DVC's credentials
