"""Tier 3: data with a date, as a new user brings it, through the whole loop.

The data set is generated here (WRITE_DATA, seeded), since no installed package ships a sizable
labelled one with dates: website visits over two and a half years, one row per visit, with an ISO
timestamp at the visitor's offset (+01:00 in winter, +02:00 in summer), the channel, the pages
viewed and the price shown. Paid traffic grows and prices rise every year; whether the visitor
signed up rises with a trend and peaks each winter, which only calendar terms can follow. The
first 80% of the visits are the training data; the rest, with dates the training data never had,
is the later period. (statsmodels' bundled data sets with dates are a few hundred rows, or one
series with no other column.)

The loop: infer-schema finds the timestamp, makes it the time column and splits by time;
validate and train; a pull request that turns on calendar terms, reviewed by train.yml under act;
drift.yml on the later period (its new dates accepted), whose retraining pull request adds those
rows; build; and the service answering for a date later than any seen, refusing a bad one by name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fakes.github import FakeGitHub
from harness.act import act
from harness.params import edit_params
from harness.project import bake, cli, commit, git_init, head_sha, python, run
from harness.service import post, serving

pytestmark = [pytest.mark.slow, pytest.mark.tier3, pytest.mark.xdist_group("own-dated-data")]
TIME = "visited_at"
WRITE_DATA = """
import numpy as np
import pandas as pd
rng = np.random.default_rng(2026)
n = 6000
seconds = np.sort(rng.uniform(0, 913 * 86400, n))  # 2023-01-01 to 2025-07-02
utc = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
local = utc.tz_convert("Europe/Paris").floor("s")
years = seconds / (365.25 * 86400)
u = rng.random(n)  # paid traffic grows every year: the channel mix drifts
ads = 0.2 + 0.15 * years
channel = np.select([u < ads, u < ads + 0.35, u < ads + 0.55], ["ads", "search", "referral"], "email")
pages = rng.poisson(4, n) + 1
price = np.round(rng.choice([9.0, 19.0, 29.0], n) * (1 + 0.1 * years), 2)  # prices rise 10% a year
winter = np.cos(2 * np.pi * (local.dayofyear.to_numpy() - 15) / 365.25)
lift = pd.Series(channel).map({"search": 0.3, "ads": -0.4, "referral": 0.6, "email": 0.0}).to_numpy()
logit = -2.2 + 0.5 * years + 1.2 * winter + 0.15 * pages - 0.03 * price + lift
signed_up = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
frame = pd.DataFrame({"visited_at": [t.isoformat() for t in local], "channel": channel,
                      "pages": pages, "price": price, "signed_up": signed_up})
cut = int(0.8 * n)
frame.iloc[:cut].to_csv("data/visits.csv", index=False)
frame.iloc[cut:].to_csv("../later.csv", index=False)
"""
FIRST_LATER_ROW = (
    "import pandas as pd; "
    "print(pd.read_csv('../later.csv').drop(columns='signed_up').head(1).to_json(orient='records'))"
)


def move_time_into_features(project: Path) -> None:
    """schema.py as a team edits it for calendar terms: the time column's line moved up into Features."""
    path = project / "src" / "my_ml_project" / "schema.py"
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, text in enumerate(lines) if text.lstrip().startswith(f"{TIME}:"))
    start = at - 1 if lines[at - 1].lstrip().startswith("#") else at  # with its comment line
    moved = lines[start : at + 1]
    del lines[start : at + 1]
    features = lines.index("class Features(pa.DataFrameModel):\n") + 2  # after its docstring
    lines[features:features] = moved
    path.write_text("".join(lines))


@pytest.fixture(scope="module")
def dated(tmp_path_factory) -> dict:
    """A baked project pointed at the visits by infer-schema, trained, committed on main."""
    tmp = tmp_path_factory.mktemp("dated")
    project = bake(tmp / "repo")
    python(project, WRITE_DATA)
    inferred = cli(project, "infer-schema", "data/visits.csv", "--target", "signed_up").stdout
    validated = cli(project, "validate").stdout
    trained = cli(project, "train").stdout
    git_init(project)
    return {"project": project, "tmp": tmp, "main": head_sha(project), "inferred": inferred,
            "validated": validated, "trained": trained,
            "github": FakeGitHub(tmp / "github", repo="acme/visits")}  # fmt: skip


def test_infer_schema_makes_the_timestamp_the_time_column_and_splits_by_time(dated):
    project, said = dated["project"], dated["inferred"]
    assert f"- `{TIME}` is the time column: the holdout is its latest period (split.by: time)" in said
    assert "positive class: 'yes' (its name;" in said
    schema = (project / "src" / "my_ml_project" / "schema.py").read_text()
    assert f'    {TIME}: Series[str] = pa.Field(date="ISO8601")\n' in schema
    observed = "observed: 2023-01-01T14:03:13+01:00 to 2025-01-05T03:31:59+01:00"
    assert f"# a date: the time column, not a feature; {observed}" in schema
    assert "4,800 rows match the schema" in dated["validated"]
    assert "Holdout (960 rows):" in dated["trained"]  # the latest fifth, by visit time
    metrics = json.loads((project / "artifacts" / "model" / "metrics.json").read_text())
    assert metrics["split"] == "time"
    train, holdout = metrics["train"]["span"], metrics["holdout"]["span"]
    assert train["first"] == "2023-01-01T14:03:13+01:00" and holdout["last"] == "2025-01-05T03:31:59+01:00"
    assert train["last"] < holdout["first"]


def test_a_pull_request_turning_on_calendar_terms_is_reviewed_on_the_latest_visits(dated):
    project, github = dated["project"], dated["github"]
    run(["git", "checkout", "-q", "-b", "calendar"], project)
    move_time_into_features(project)
    edit_params(project, lambda params: params["train"].update(calendar=["month", "day_of_year"]))
    head = commit(project, "Calendar terms from the visit time")
    payload = {
        "pull_request": {"number": 1, "base": {"sha": dated["main"], "ref": "main"}, "head": {"sha": head}}
    }
    try:
        done = act(project, "train.yml", "pull_request", dated["tmp"] / "review", payload, github=github)
    finally:
        run(["git", "checkout", "-q", "main"], project)
    assert done.returncode == 0, done.log[-4000:]
    comment = (github.artifact("model-review", done.run_id) / "comment.md").read_text()
    assert comment.splitlines()[1] == "## ✅ Model review: better", comment[:2000]
    assert re.search(
        rf"Holdout: 960 rows, `{TIME}` 2024-08-15T\S+ to 2025-01-05T\S+ \(the latest rows by time\)", comment
    )
    assert "`train.calendar`: `[]` → `['month', 'day_of_year']`" in comment
    run(["git", "merge", "-q", "--ff-only", "calendar"], project)


def test_the_later_period_is_accepted_and_its_rows_go_to_one_retraining_pr(dated, tmp_path):
    project, github = dated["project"], dated["github"]
    (project / "data" / "current").mkdir()
    (project / "data" / "current" / "visits.csv").write_bytes((project.parent / "later.csv").read_bytes())
    commit(project, "current data: the later visits, labelled")

    done = act(project, "drift.yml", "workflow_dispatch", tmp_path / "drift", github=github)

    assert done.returncode == 0, done.log[-4000:]
    assert "**1,200** of the 1,200 labelled current rows" in done.summary  # no new date refused
    (pull,) = [p for p in github.pulls() if p["head"]["ref"] == "retrain/drift"]
    assert sorted(pull["files"]) == ["data/manifest.json", "data/visits.csv"]
    added = rf"Added \*\*1,200\*\* labelled rows \(`{TIME}` 2025-\S+ to 2025-07-\S+\) to `data/visits\.csv`"
    assert re.search(added, pull["body"]), pull["body"][:2000]
    assert "the holdout (`split.by: time`) moves to the newest rows" in pull["body"]


def test_the_service_answers_for_a_new_date_and_refuses_a_bad_one(dated, tmp_path):
    project = dated["project"]
    env = {"BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    cli(project, "train")  # main's model since the calendar PR merged, as release.yml trains it
    assert "Built my-ml-project" in cli(project, "build", **env).stdout
    record = json.loads(python(project, FIRST_LATER_ROW).stdout)[0]
    with serving(project, tmp_path / "serve.log", **env) as port:
        winter = post(port, "/predict", {"records": [{**record, TIME: "2026-12-05T10:00:00+01:00"}]})
        summer = post(port, "/predict", {"records": [{**record, TIME: "2026-07-05T10:00:00+02:00"}]})
        bad = post(port, "/predict", {"records": [{**record, TIME: "2026-13-05T10:00:00+01:00"}]})
        missing = post(port, "/predict", {"records": [{k: v for k, v in record.items() if k != TIME}]})
    assert winter[0] == summer[0] == 200, (winter, summer)
    assert json.loads(winter[1])[0] != json.loads(summer[1])[0]  # the calendar terms are used
    assert bad[0] == 400 and TIME in bad[1] and "not a date or time in the format" in bad[1], bad
    assert missing[0] == 400 and TIME in missing[1], missing
