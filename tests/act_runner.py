"""Run a generated project's workflow under nektos/act in host mode, third-party actions stubbed.

Every `uses: owner/repo@sha` in the workflow is replaced by a generated composite action that
declares the inputs the workflow passes and appends them, as JSON, to a log the test reads.
A few stubs also do what the real action does, so the rest of the workflow (and the test) can
go on: artifacts are kept in a folder shared between runs, and comments in a file keyed by
PR number and header, as the sticky-comment action keys them. `run:` steps execute for real.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from conftest import BIN, run

SUMMARY = re.compile(r"⚙\s+Summary - (.*?)(?=^\[|\Z)", re.DOTALL | re.MULTILINE)
STUB = """\
name: stub of {action}
description: records its inputs instead of doing anything
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
{behaviour}"""
BEHAVIOUR_STEP = """\
    - id: behaviour
      shell: python3 {{0}}
      env:
        STUB_INPUTS: ${{{{ toJSON(inputs) }}}}
      run: |
{script}
"""
# Python run by the stubs that must act; inputs arrive as JSON in $STUB_INPUTS.
BEHAVIOUR = {
    "actions/upload-artifact": """
import glob, json, os, shutil
i = json.loads(os.environ["STUB_INPUTS"])
lines = [ln.strip() for ln in i["path"].splitlines() if ln.strip()]
root = lines[0].rstrip("/")
dest = os.path.join(os.environ["ACT_ARTIFACTS"], i["name"])
shutil.copytree(root, dest, dirs_exist_ok=True)
for pattern in (ln[1:].rstrip("/") for ln in lines[1:] if ln.startswith("!")):
    for path in glob.glob(os.path.join(dest, os.path.relpath(pattern, root))):
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
""",
    "actions/download-artifact": """
import json, os, shutil
i = json.loads(os.environ["STUB_INPUTS"])
shutil.copytree(os.path.join(os.environ["ACT_ARTIFACTS"], i["name"]), i["path"], dirs_exist_ok=True)
""",
    "peter-evans/create-pull-request": """
import json, os, pathlib, subprocess
i = json.loads(os.environ["STUB_INPUTS"])
store = pathlib.Path(os.environ["ACT_ARTIFACTS"]) / "pull-requests.json"
prs = json.loads(store.read_text()) if store.exists() else {}
paths = i["add-paths"].split()
diff = subprocess.run(["git", "diff", "--", *paths], capture_output=True, text=True, check=True).stdout
new = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--", *paths],
                     capture_output=True, text=True, check=True).stdout.split()
operation = "none" if not (diff or new) else "updated" if i["branch"] in prs else "created"
if operation != "none":
    body = pathlib.Path(i["body-path"]).read_text()
    prs[i["branch"]] = {"title": i["title"], "body": body, "diff": diff, "new": new, "token": i["token"]}
    store.write_text(json.dumps(prs))
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    out.write(f"pull-request-operation={operation}\\n")
with open(pathlib.Path(os.environ["ACT_ARTIFACTS"]) / "pr-operations.log", "a") as log:
    log.write(operation + "\\n")
""",
    "actions/create-github-app-token": """
import os
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    out.write("token=app-installation-token\\n")
""",
    "marocchino/sticky-pull-request-comment": """
import json, os, pathlib
i = json.loads(os.environ["STUB_INPUTS"])
store = pathlib.Path(os.environ["ACT_ARTIFACTS"]) / "comments.json"
comments = json.loads(store.read_text()) if store.exists() else {}
key = f"{i['number']}/{i['header']}"
result = {"operation": "updated" if key in comments else "created", "key": key}
comments[key] = pathlib.Path(i["path"]).read_text()
store.write_text(json.dumps(comments))
with open(os.environ["ACT_STUB_LOG"], "a") as log:
    log.write(json.dumps({"action": "sticky-comment-result", "inputs": result}) + "\\n")
""",
}
OUTPUTS = {  # outputs the workflows read from stubbed actions
    "peter-evans/create-pull-request": ["pull-request-operation"],
    "actions/create-github-app-token": ["token"],
}


@dataclass
class ActRun:
    returncode: int
    log: str
    stub_calls: list[dict]

    @property
    def summary(self) -> str:
        """The job summaries the steps wrote (act echoes each to its log)."""
        return "\n".join(m.group(1).strip() for m in SUMMARY.finditer(self.log))

    def calls(self, action: str) -> list[dict]:
        return [c["inputs"] for c in self.stub_calls if c["action"] == action]


def write_stubs(workflow: dict, stub_root: Path) -> list[str]:
    """One stub per action the workflow uses; returns act's --local-repository arguments."""
    inputs: dict[str, set[str]] = {}
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                inputs.setdefault(step["uses"], set()).update(step.get("with", {}))
    args = []
    for uses, names in sorted(inputs.items()):
        action = uses.split("@")[0]
        folder = stub_root / action.replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        declared = "\n".join(f"  {n}:\n    required: false" for n in sorted(names)) or "  {}"
        script = BEHAVIOUR.get(action)
        behaviour = ""
        if script:
            indented = "\n".join(f"        {line}" for line in script.strip().splitlines())
            behaviour = BEHAVIOUR_STEP.format(script=indented)
        outputs = "".join(
            f"  {name}:\n    value: ${{{{ steps.behaviour.outputs.{name} }}}}\n"
            for name in OUTPUTS.get(action, [])
        )
        outputs = f"outputs:\n{outputs}" if outputs else ""
        stub = STUB.format(action=action, inputs=declared, outputs=outputs, behaviour=behaviour)
        (folder / "action.yml").write_text(stub)
        args += ["--local-repository", f"{uses}={folder}"]
    return args


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
) -> ActRun:
    """Run `workflow` of `project` for `event`: the exit code, the log and the stub calls.

    `artifacts` is where stubbed uploads land and downloads come from; share it between runs.
    """
    workflow_file = project / ".github" / "workflows" / workflow
    tmp.mkdir(parents=True, exist_ok=True)
    artifacts = artifacts or tmp / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log_file = tmp / "stub-calls.jsonl"
    log_file.write_text("")  # this run's calls only
    event_file = tmp / "event.json"
    event_file.write_text(json.dumps(payload or {}))
    cmd = [str(BIN / "act"), event, "-W", str(workflow_file), "-e", str(event_file)]
    cmd += ["-P", "ubuntu-latest=-self-hosted", "--action-offline-mode", "--no-cache-server"]
    cmd += ["--action-cache-path", str(tmp / "act-cache")]
    cmd += ["--env", f"ACT_STUB_LOG={log_file}", "--env", f"ACT_ARTIFACTS={artifacts}"]
    cmd += write_stubs(yaml.safe_load(workflow_file.read_text()), tmp / "stubs")
    if job:
        cmd += ["-j", job]
    done = run([*cmd, *act_args], project, check=False, **(env or {}))
    shutil.rmtree(tmp / "act-cache", ignore_errors=True)
    calls = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    return ActRun(done.returncode, done.stdout + done.stderr, calls)
