"""Run a generated project's workflow under nektos/act in host mode, third-party actions stubbed.

Every `uses: owner/repo@sha` in the workflow is replaced by a generated composite action that
declares the inputs the workflow passes, appends them as JSON to a log the test reads, then runs
tests/fakes/stubs.py, which replays what the real action does (create-pull-request's git commands,
download-artifact's "not found", the sticky comment's pull request lookup...). `gh` is the fake in
tests/fakes/bin. Both act on ONE fake GitHub (tests/fakes/github.py): share it between the runs of
one repository. `run:` steps execute for real. tests/fakes/README.md says what is replayed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from fakes.github import FakeGitHub
from harness.project import BIN, project_env

FAKES = Path(__file__).resolve().parents[1] / "fakes"
SUMMARY = re.compile(r"⚙\s+Summary - (.*?)(?=^\[|\Z)", re.DOTALL | re.MULTILINE)
STUB = """\
name: stub of {action}
description: records its inputs, then replays the action (tests/fakes/stubs.py)
inputs:
{inputs}
{outputs}runs:
  using: composite
  steps:
    - shell: bash
      env:
        STUB_INPUTS: ${{{{ toJSON(inputs) }}}}
      run: |
        inputs=$(printf '%s' "$STUB_INPUTS" | tr -d '\\n')
        printf '{{"action": "{action}", "inputs": %s}}\\n' "$inputs" >> "$ACT_STUB_LOG"
    - id: behaviour
      shell: bash
      env:
        STUB_INPUTS: ${{{{ toJSON(inputs) }}}}
        STUB_GITHUB_TOKEN: ${{{{ github.token }}}}
      run: python3 "{stubs}" "{action}"
"""
# act (0.2.89, host mode) reads a step's output from a terminal and, when the step fails, closes that
# terminal at once (pkg/container/host_environment.go: exec returns on cmd.Run's error before
# waiting for copyPtyOutput), so the last lines a failing step printed, its error, were lost now and
# then on a loaded machine. The steps' bash is this wrapper: a failing step prints a mark, then waits
# (at most 30 s) until act has logged it; the terminal is a queue, so everything before is logged.
# Nested bash (scripts, `env bash`) runs directly. Only bash steps are covered (all ours are bash).
BASH_WRAPPER = """\
#!/bin/sh
if [ -n "$ACT_RUNNER_STEP" ]; then exec {bash} "$@"; fi
ACT_RUNNER_STEP=1 {bash} "$@"
code=$?
[ "$code" = 0 ] && exit 0
mark="harness.act: the step exited $code ($$ $(date +%s%N))"
printf '\\n%s\\n' "$mark"
tries=0
until grep -qF "$mark" "$ACT_RUNNER_LOG" 2>/dev/null || [ "$tries" -ge 600 ]; do
  sleep 0.05
  tries=$((tries + 1))
done
exit "$code"
"""
OUTPUTS = {  # every output of the real actions that have a behaviour, so any the workflow reads resolves
    "actions/upload-artifact": ["artifact-id", "artifact-url", "artifact-digest"],
    "actions/cache/restore": ["cache-hit", "cache-primary-key", "cache-matched-key"],
    "actions/download-artifact": ["download-path"],
    "actions/create-github-app-token": ["token", "installation-id", "app-slug"],
    "actions/attest": ["bundle-path", "attestation-id", "attestation-url", "storage-record-ids"],
    "docker/build-push-action": ["imageid", "digest", "metadata"],
    "marocchino/sticky-pull-request-comment": ["previous_comment_id", "created_comment_id"],
    "peter-evans/create-pull-request": [
        "pull-request-number",
        "pull-request-url",
        "pull-request-operation",
        "pull-request-head-sha",
        "pull-request-branch",
        "pull-request-commits-verified",
    ],
}


@dataclass
class ActRun:
    returncode: int
    log: str
    stub_calls: list[dict]
    run_id: int = 0  # this run's id on the fake GitHub (GITHUB_RUN_ID inside it)
    github: FakeGitHub | None = None

    @property
    def summary(self) -> str:
        """The job summaries the steps wrote (act echoes each to its log)."""
        return "\n".join(m.group(1).strip() for m in SUMMARY.finditer(self.log))

    def calls(self, action: str) -> list[dict]:
        """The inputs each use of `action` was given, in order."""
        return [c["inputs"] for c in self.stub_calls if c["action"] == action and "inputs" in c]

    def outputs(self, action: str) -> list[dict]:
        """The outputs each successful use of `action` set, in order."""
        return [c["outputs"] for c in self.stub_calls if c["action"] == action and "outputs" in c]


def write_stubs(workflow: dict, stub_root: Path) -> list[str]:
    """One stub per action the workflow uses; returns act's --local-repository arguments."""
    inputs: dict[str, set[str]] = {}
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                inputs.setdefault(step["uses"], set()).update(step.get("with", {}))
    args = set()
    for uses, names in sorted(inputs.items()):
        action, ref = uses.split("@")
        # act maps a repository (owner/name@ref) to a folder; `owner/name/sub@ref` is sub/ in it.
        owner, name, *sub = action.split("/")
        repo = f"{owner}/{name}"
        folder = stub_root / f"{owner}__{name}" / "/".join(sub)
        folder.mkdir(parents=True, exist_ok=True)
        declared = "\n".join(f"  {n}:\n    required: false" for n in sorted(names)) or "  {}"
        outputs = "".join(
            f"  {name}:\n    value: ${{{{ steps.behaviour.outputs.{name} }}}}\n"
            for name in OUTPUTS.get(action, [])
        )
        outputs = f"outputs:\n{outputs}" if outputs else ""
        stub = STUB.format(action=action, inputs=declared, outputs=outputs, stubs=FAKES / "stubs.py")
        (folder / "action.yml").write_text(stub)
        args.add(f"{repo}@{ref}={stub_root / f'{owner}__{name}'}")
    return [arg for mapping in sorted(args) for arg in ("--local-repository", mapping)]


def head_of(project: Path, payload: dict) -> tuple[str, str]:
    """(sha, branch) a run is for: the pull request's head, the pushed commit, else the checkout."""
    head = (payload.get("pull_request") or {}).get("head") or {}
    git = ["git", "-C", str(project)]
    sha = (
        head.get("sha")
        or payload.get("after")
        or subprocess.check_output([*git, "rev-parse", "HEAD"], text=True)
    )
    branch = head.get("ref") or subprocess.check_output([*git, "branch", "--show-current"], text=True)
    return sha.strip(), branch.strip()


def act(
    project: Path,
    workflow: str,
    event: str,
    tmp: Path,
    payload: dict | None = None,
    job: str | None = None,
    artifacts: Path | None = None,
    act_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    github: FakeGitHub | None = None,
    run_id: int | None = None,
) -> ActRun:
    """Run `workflow` of `project` for `event`: the exit code, the log and the stub calls.

    `github` is the fake GitHub the stubs and `gh` act on (default: one in the folder `artifacts`,
    else tmp/github); share it between the runs of one repository. The project gets the `origin`
    remote actions/checkout would leave. The run is recorded on the fake GitHub as workflow run
    `run_id` (default: the next id), which is what `gh run list` and download-artifact's `run-id` see.
    Without a GITHUB_TOKEN secret in `act_args` the run gets one, as every run on GitHub does.
    """
    workflow_file = project / ".github" / "workflows" / workflow
    tmp.mkdir(parents=True, exist_ok=True)
    github = github or FakeGitHub(artifacts or tmp / "github")
    github.attach(project)
    payload = payload or {}
    definition = yaml.safe_load(workflow_file.read_text())
    run_id = github.start_run(
        workflow, definition.get("name", workflow), event, payload, *head_of(project, payload), run_id=run_id
    )
    log_file = tmp / "stub-calls.jsonl"
    log_file.write_text("")  # this run's calls only
    event_file = tmp / "event.json"
    event_file.write_text(json.dumps(payload))
    cmd = [str(BIN / "act"), event, "-W", str(workflow_file), "-e", str(event_file)]
    cmd += ["-P", "ubuntu-latest=-self-hosted", "--action-offline-mode", "--no-cache-server"]
    cmd += ["--action-cache-path", str(tmp / "act-cache")]
    cmd += ["--env", f"ACT_STUB_LOG={log_file}", "--env", f"FAKE_GITHUB={github.root}"]
    cmd += ["--env", f"GITHUB_RUN_ID={run_id}", "--env", f"ACT_WORKFLOW_FILE={workflow_file}"]
    cmd += write_stubs(definition, tmp / "stubs")
    if not any(arg.startswith("GITHUB_TOKEN=") for arg in act_args):  # GitHub always provides one
        cmd += ["--secret", "GITHUB_TOKEN=github-token"]
    if job:
        cmd += ["-j", job]
    shell = tmp / "shell"  # the steps' bash (BASH_WRAPPER), first on PATH: act looks bash up there
    shell.mkdir(exist_ok=True)
    (shell / "bash").write_text(BASH_WRAPPER.format(bash=shutil.which("bash")))
    (shell / "bash").chmod(0o755)
    out = tmp / "act.log"  # act's stdout, where the wrapper looks for its mark
    cmd += ["--env", f"ACT_RUNNER_LOG={out}"]
    env = dict(env or {})
    path = [shell, FAKES / "bin", env.get("PATH") or BIN, os.environ["PATH"]]
    env["PATH"] = os.pathsep.join(map(str, path))
    with out.open("w") as stdout:
        done = subprocess.run([*cmd, *act_args], cwd=project, env=project_env(**env), stdout=stdout,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    shutil.rmtree(tmp / "act-cache", ignore_errors=True)
    github.finish_run(run_id, "success" if done.returncode == 0 else "failure")
    calls = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    return ActRun(done.returncode, out.read_text() + done.stderr, calls, run_id, github)
