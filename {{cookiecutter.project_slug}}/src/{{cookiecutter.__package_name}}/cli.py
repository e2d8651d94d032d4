"""The project's command line: one verb per step of the loop; workflows call these and nothing else.

Only click is imported at start-up; each verb imports what it needs, so `--help`
stays fast and never loads scikit-learn, pandas or the serving/drift stacks.
"""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path

import click

from .errors import ProjectError, ValidationFailed


def path_option(*names: str, **settings):
    """An option naming a file or folder; its default, if any, is shown in --help."""
    settings.setdefault("show_default", "default" in settings)
    return click.option(*names, type=click.Path(path_type=Path), **settings)


PARAMS = path_option("--params", "params_path", default="params.yaml", help="The params file.")
MODEL_DIR = path_option(
    "--model", "model_dir", default="artifacts/model", help="The model folder (written by train)."
)


class UserError(click.ClickException):
    """A problem the user can fix (bad params, data or paths): shown as one `error:` message, exit 1."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def user_errors(command):
    """Turn the project's expected errors into clean messages instead of tracebacks."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ValidationFailed as failed:  # the table says more than one line could
            from .reports import validation_text

            click.echo(validation_text(failed.source, failed.n_rows, failed.failures), err=True)
            sys.exit(1)
        except ProjectError as err:
            raise UserError(str(err)) from None

    return wrapper


# The verbs by the loop they belong to, in the order a project meets them (how --help lists them).
SECTIONS = {
    "Your data and model": ["infer-schema", "validate", "train", "predict", "serve"],
    "Data beyond git (DVC)": ["data-remote", "fetch-data"],
    "Pull request review (train.yml)": ["holdout", "score", "compare"],
    "Release (release.yml)": ["find-review", "fetch-champion", "build", "model-card"],
    "Monitoring and retraining (drift.yml)": ["monitor", "label", "retrain-data", "simulate-drift"],
    "GitHub": ["setup-github"],
}


class LoopGroup(click.Group):
    """Lists the verbs in SECTIONS' order instead of alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [verb for verbs in SECTIONS.values() for verb in verbs]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        width = formatter.width - 6 - max(len(verb) for verbs in SECTIONS.values() for verb in verbs)
        for title, verbs in SECTIONS.items():
            rows = [(verb, self.commands[verb].get_short_help_str(width)) for verb in verbs]
            with formatter.section(title):
                formatter.write_dl(rows)


@click.group(cls=LoopGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="{{ cookiecutter.project_slug }}",
    message="%(package)s %(version)s",
)
def main() -> None:
    """Validate data, train and compare models, and predict: the steps the workflows run.

    Long steps report progress on stderr: a live line in a terminal, timestamped lines in CI logs.
    """
    from . import progress

    progress.enable()


@main.command()
@click.argument("data_file", required=False, type=click.Path(path_type=Path))
@PARAMS
@path_option(
    "--report",
    default="reports/validation.md",
    help="Where to write the markdown report (also appended to the GitHub job summary).",
)
@user_errors
def validate(data_file: Path | None, params_path: Path, report: Path) -> None:
    """Check DATA_FILE (default: the training data in params) against the schema; exit 1 on violations."""
    from . import data, reports, schema
    from .settings import load_params

    if data_file is None:
        data_file = load_params(params_path).data_path
    frame = data.read_table(data_file)
    try:
        data.validate(frame, schema.TrainingData, str(data_file))
        failures = None
    except ValidationFailed as failed:
        failures = failed.failures
    reports.publish(reports.validation_report(str(data_file), len(frame), failures), report)
    click.echo(reports.validation_text(str(data_file), len(frame), failures))
    click.echo(f"Report: {report}")
    if failures is not None:
        sys.exit(1)


@main.command("infer-schema")
@click.argument("data_file", type=click.Path(path_type=Path))
@click.option("--target", required=True, help="The column to predict.")
@click.option("--key", "row_key", multiple=True, help="A column that identifies a row (repeatable).")
@click.option(
    "--ignore", multiple=True, help="A column the model must not use, e.g. an id or a leak (repeatable)."
)
@click.option(
    "--task", type=click.Choice(["classification", "regression"]), help="Default: inferred from the target."
)
@click.option(
    "--date-format",
    "date_formats",
    multiple=True,
    metavar="COLUMN=FORMAT",
    help="A date column's format (strftime codes, ISO8601 or epoch), when detection is wrong or unsure.",
)
@click.option("--time-column", help="The date column that says when a row happened (when there are several).")
@PARAMS
@user_errors
def infer_schema(
    data_file: Path, target: str, row_key, ignore, task, date_formats, time_column, params_path: Path
) -> None:
    """Write schema.py for DATA_FILE and point params.yaml at it. Review the diff, then train."""
    from . import schema, schema_inference
    from .settings import load_params

    formats = dict(pair.partition("=")[::2] for pair in date_formats)
    if any(not column or not format for column, format in formats.items()):
        raise click.BadParameter(
            f"expected COLUMN=FORMAT, e.g. day=%d/%m/%Y; got {list(date_formats)}", param_hint="--date-format"
        )
    schema_path = Path(schema.__file__)
    decided = schema_inference.infer(
        data_file, target, params_path, schema_path, list(row_key), list(ignore), task, formats, time_column
    )
    load_params(params_path)  # the updated file must still be valid
    click.echo(
        f"Inferred a {decided['task']} schema from {decided['rows']} rows x {decided['columns']} columns.\n"
        f"Wrote {schema_path} and updated {params_path}."
    )
    for note in decided["notes"]:
        click.echo(f"- {note}")
    click.echo(
        "Next: review both diffs (`observed:` comments are hints, not checks: see schema.py's docstring), "
        "then run `train`."
    )


@main.command()
@PARAMS
@path_option("--out", default="artifacts/model", help="Folder for the model, model.json and metrics.json.")
@user_errors
def train(params_path: Path, out: Path) -> None:
    """Cross-validate the candidates on the train split, fit the best, score it on the holdout."""
    from .records import cv_scope
    from .settings import load_params
    from .training import train as run

    params = load_params(params_path)
    metrics = run(params, out)
    board = metrics["cv"]["leaderboard"]
    scope = cv_scope(metrics["cv"], metrics["train"]["rows"])
    click.echo(f"Cross-validated {metrics['cv']['metric']} ({scope}):")
    no_skill = metrics["no_skill"]
    for row in [*board, {"candidate": "(no skill)", **no_skill["cv"]}]:
        mark = "*" if row["candidate"] == metrics["chosen"] else " "
        click.echo(f" {mark} {row['candidate']:<28} {row['mean']:.4f} ± {row['std']:.4f}")
    if metrics["threshold"] is not None:
        maximised = metrics["threshold_maximises"]
        how = f" (maximises {maximised} across the folds)" if maximised else ""
        click.echo(f"Decision threshold: {metrics['threshold']:.2f}{how}")
    elif params.train.threshold is not None and params.task == "classification":
        click.echo("Decision threshold: none (train.threshold applies to two classes only; ignored)")
    click.echo(f"Holdout ({metrics['holdout']['rows']} rows):")
    click.echo(f"   {'':<20} {'model':>8}   {'no skill':>8}")

    def shown(value: float | None) -> str:
        return f"{'undefined':>8}" if value is None else f"{value:8.4f}"

    for name, value in metrics["holdout"]["metrics"].items():
        click.echo(f"   {name:<20} {shown(value)}   {shown(no_skill['holdout'][name])}")
    click.echo(f"Saved the model and metrics.json to {out}")


@main.command()
@MODEL_DIR
@path_option("--input", "input_file", required=True, help="CSV or Parquet.")
@path_option("--output", "output_file", required=True, help="CSV or Parquet.")
@path_option(
    "--refused",
    help="JSON file: predict the rows the schema accepts and list the others here, instead of failing.",
)
@PARAMS
@user_errors
def predict(
    model_dir: Path, input_file: Path, output_file: Path, refused: Path | None, params_path: Path
) -> None:
    """Predict every row of INPUT (validated against the schema first); rows keep their order.

    The model may hold only the types params.yaml's train.trusted_types allows."""
    from .models import predict_file
    from .settings import load_params

    trusted = load_params(params_path).train.trusted_types
    rows = predict_file(model_dir, input_file, output_file, trusted, refused)
    click.echo(
        f"Wrote {rows} predictions to {output_file}" + (f" (refused rows: {refused})" if refused else "")
    )


@main.command()
@PARAMS
@path_option("--out", required=True, help="CSV or Parquet file to write.")
@user_errors
def holdout(params_path: Path, out: Path) -> None:
    """Write the holdout rows (stable hash split of the training data): the file both PR models predict."""
    from .review import write_holdout
    from .settings import load_params

    written = write_holdout(load_params(params_path), out)
    click.echo(f"Wrote {written['rows']} holdout rows to {out} (content hash {written['hash'][:12]})")


@main.command()
@PARAMS
@path_option("--holdout", "holdout_file", required=True, help="Written by holdout.")
@path_option("--out", required=True, help="Folder for model/, predictions.csv.")
@click.option(
    "--ref", help="Score the model of this git commit instead (the champion), in its own environment."
)
@path_option(
    "--cached",
    help="With --ref: a model folder trained at that commit before (main's release job caches one); "
    "used instead of training when its record says so.",
)
@user_errors
def score(params_path: Path, holdout_file: Path, out: Path, ref: str | None, cached: Path | None) -> None:
    """Train and predict the holdout, here (challenger) or at --ref (champion); status.json says how."""
    from . import review
    from .settings import load_params

    if ref is None:
        status = review.score_here(load_params(params_path), holdout_file, out)
    else:
        status = review.score_at_ref(ref, params_path, holdout_file, out, cached)
    click.echo(f"{out}: {status['status']}" + (f" ({status['detail']})" if status["detail"] else ""))


@main.command()
@PARAMS
@path_option("--holdout", "holdout_file", required=True, help="The file both sides predicted.")
@path_option("--champion", "champion_dir", required=True, help="Scored base.")
@path_option("--challenger", "challenger_dir", required=True, help="Scored head.")
@click.option("--base", help="The base commit, for the params, data and dependency diffs.")
@path_option(
    "--out",
    default="reports/pr",
    help="Folder for comparison.json, comment.md and challenger-metrics.json: records only, no data.",
)
@user_errors
def compare(
    params_path: Path, holdout_file: Path, champion_dir: Path, challenger_dir: Path, base, out: Path
) -> None:
    """Compare the two sides' predictions with a paired bootstrap; write comparison.json and comment.md.

    Exits 0 whatever the verdict; the verdict goes to GITHUB_OUTPUT (`verdict`) for the workflow to act on.
    """
    from pydantic import TypeAdapter

    from . import comparison, data, pr_comment, reports
    from .records import COMPARISON_FILE, METRICS_FILE, REVIEWED_METRICS_FILE, ComparisonRecord
    from .review import MODEL_DIR
    from .settings import load_params

    record = comparison.compare(load_params(params_path), holdout_file, champion_dir, challenger_dir, base)
    out.mkdir(parents=True, exist_ok=True)
    data.write_json(out / COMPARISON_FILE, TypeAdapter(ComparisonRecord).validate_python(record))
    shutil.copyfile(challenger_dir / MODEL_DIR / METRICS_FILE, out / REVIEWED_METRICS_FILE)
    comment = pr_comment.review_comment(record)
    reports.publish(comment, out / "comment.md")
    reports.set_outputs(verdict=comparison.OUTPUT_KEYS[record["verdict"]])
    click.echo(
        f"{record['verdict']}: {pr_comment.sentence(record)}\nWrote {out / 'comparison.json'} and comment.md"
    )


@main.command()
@PARAMS
@path_option(
    "--model", "model_dir", default="artifacts/model",
    help="The deployed model (main's), scored on the labelled current rows; without it, data drift only.",
)  # fmt: skip
@path_option("--out", default="reports/drift", help="Folder for drift.json, summary.md and drift.html.")
@path_option(
    "--champion-bento",
    help="serving.champion_release's bento (drift.yml downloads it with fetch-champion): with a shadow "
    "deployed, its model answers, and the log's answers are scored against its reviewed values.",
)
@user_errors
def monitor(params_path: Path, model_dir: Path, out: Path, champion_bento: Path | None) -> None:
    """Check current data (drift.source): its drift from the training data, and the model's quality on
    the rows whose outcome is known, window by window (monitor in params.yaml). Writes drift.html,
    drift.json and summary.md.

    Exits 0 whatever it finds, with a notice but no verdict when there is no current data yet or too
    few rows; 1 when the source cannot be read. GITHUB_OUTPUT gets `drift` and `decayed` (true/false)
    and `labels` (how many rows retrain-data would add).
    """
    from . import release
    from .drift import check
    from .reports import set_outputs
    from .settings import load_params

    model = model_dir if (model_dir / "model.json").is_file() else None
    champion = release.champion_folder(champion_bento) if champion_bento and model else None
    record = check(load_params(params_path), out, model, champion)
    set_outputs(drift=record["dataset_drift"], decayed=record["decayed"], labels=record["addable_rows"])
    if record.get("online") and model is not None:
        shadow_outcome(record["online"], params_path, out, model)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    no_model = f"No model at {model_dir} (train writes one there): data drift only."
    if "drifted" not in record:  # no verdict: the notice says why and what to do
        click.echo(summary + (no_model if model is None else ""))
        return
    click.echo(summary.splitlines()[0])  # the headline: data drift and model quality
    if model is None:
        click.echo(no_model)
    verdict = "Data drift" if record["dataset_drift"] else "No data drift"
    can = "may" if record["retraining"].get("counted") else "can"
    click.echo(
        f"{verdict}: {record['drifted']} of {len(record['columns'])} features drifted; "
        f"{record['addable_rows']} labelled rows {can} be added to the training data. Reports in {out}"
    )


def shadow_outcome(found: dict, params_path: Path, out: Path, model_dir: Path) -> None:
    """The online comparison's verdict as a step output (`shadow`), its sentence, a notice while
    it waits for labels, and the files for the promotion pull request or the issue (online.py),
    when the shadow judged is main's model (`model_dir`)."""
    from . import models, online
    from .reports import notice, set_outputs

    click.echo(f"Shadow on live traffic: {found['verdict']}. {found['sentence']}")
    if found["verdict"] in {online.TOO_FEW, online.comparison.SAME, online.comparison.NOT_COMPARABLE}:
        notice("Shadow on live traffic", found["sentence"])
    handed = online.hand_over(found, params_path, out, models.model_tag(model_dir))
    promote = (out / online.PROMOTION_DIR / "params.yaml").is_file()
    set_outputs(shadow=online.OUTPUT_KEYS[found["verdict"]], promote=promote)
    if handed:
        click.echo(handed[0].upper() + handed[1:] + ".")


# The check's first name, kept so that existing workflows and habits keep working.
main.add_command(
    click.Command(
        "drift",
        callback=monitor.callback,
        params=monitor.params,
        help="The old name of `monitor`.",
        hidden=True,
    )
)


@main.command()
@click.argument("labels_file", type=click.Path(path_type=Path))
@PARAMS
@user_errors
def label(labels_file: Path, params_path: Path) -> None:
    """Record outcomes in the service's prediction log (serving.log_predictions), for monitoring.

    LABELS_FILE (CSV or Parquet) has a prediction_id column, as the service returned it (or the
    data.row_key columns), and the target column. Targets are checked against the schema; invalid
    rows are listed and not written, and then the exit code is 1. One transaction per file: on an
    error nothing is written. The last value wins: a relabel replaces the outcome, and says so.
    """
    from .labels import label_file, report_text
    from .settings import load_params

    outcome = label_file(load_params(params_path), labels_file)
    click.echo(report_text(outcome))
    if outcome.invalid:
        sys.exit(1)


@main.command("simulate-drift")
@PARAMS
@click.option(
    "--period", type=click.Choice(["later", "reference"]), default="later", show_default=True,
    help="later: rows from data/later/ (real drift); reference: holdout rows of the training data, "
    "unseen by the model (with split.by: hash a random sample of the training period: no drift).",
)  # fmt: skip
@click.option("--rows", type=int, default=2000, show_default=True, help="How many rows to write.")
@click.option("--no-labels", is_flag=True, help="Drop the target column, as fresh production data has none.")
@click.option(
    "--concept", type=click.FloatRange(0, 1), default=0.0, show_default=True,
    help="Concept drift: this share of the rows with the first numeric feature above its median get "
    "another outcome; the features stay as they are.",
)  # fmt: skip
@path_option(
    "--out", default="data/current/simulated.csv", help="Where drift.source (a file source) reads it."
)
@user_errors
def simulate_drift(
    params_path: Path, period: str, rows: int, no_labels: bool, concept: float, out: Path
) -> None:
    """Write a batch of 'current' data for demos and tests, from a later period of the real data."""
    from . import data
    from .drift import shift_concept
    from .settings import load_params

    params = load_params(params_path)
    if period == "later":
        batch = data.read_table(params.data_path.parent / "later" / params.data_path.name).head(rows)
    else:
        holdout = data.split(data.load_training_data(params), params).holdout
        batch = holdout.sample(n=min(rows, len(holdout)), random_state=params.drift.seed)
    changed = ""
    if concept:
        batch, changed = shift_concept(batch, params, concept, params.drift.seed)
        changed = f"; concept drift: {changed}"
    if no_labels:
        batch = batch.drop(columns=[params.data.target])
    data.write_table(batch, out)
    click.echo(f"Wrote {len(batch)} rows of the {period} period to {out}{changed}")


@main.command("retrain-data")
@PARAMS
@path_option(
    "--drift-report",
    default="reports/drift",
    help="The monitor's folder: the PR body says why and quotes it.",
)
@path_option("--body", default="reports/drift/pr-body.md", help="Where to write the retraining PR's body.")
@path_option("--stage", help="Also copy each changed file here, at its path relative to the params folder.")
@user_errors
def retrain_data(params_path: Path, drift_report: Path, body: Path, stage: Path | None) -> None:
    """Append the labelled current rows to the training data (deduplicated) and write the PR body.

    Says why other rows were left out. Running it twice changes nothing the second time.
    GITHUB_OUTPUT gets `added` (rows added) and `files` (the changed files, comma-separated,
    relative to the params folder; empty when nothing was added).
    """
    from .reports import set_outputs
    from .retraining import retrain_data as run
    from .settings import load_params

    change = run(load_params(params_path), drift_report, body, stage)
    set_outputs(added=change["added"], files=",".join(change["files"]))
    before, after = change["before"], change["after"]
    if change["added"]:
        click.echo(
            f"Added {change['added']:,} rows to {after['file']}: {before['rows']:,} → {after['rows']:,}"
        )
    else:
        click.echo(f"No rows added: {after['file']} is unchanged")
    click.echo(change["why"])
    click.echo(
        f"Wrote {body}"
        + (f"; staged {', '.join(change['files'])} in {stage}" if stage and change["files"] else "")
    )


# How a GitHub Actions run can end (the API's `conclusion`).
CONCLUSIONS = ["success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required",
               "stale", "startup_failure"]  # fmt: skip


@main.command()
@PARAMS
@MODEL_DIR
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0 to accept other machines.")
@click.option("--port", type=int, default=3000, show_default=True, help="The HTTP port.")
@path_option(
    "--shadow", "shadow_dir", help="Another trained model folder to predict beside it (README, Shadow)."
)
@user_errors
def serve(params_path: Path, model_dir: Path, host: str, port: int, shadow_dir: Path | None) -> None:
    """Serve the trained model over HTTP (BentoML): POST /predict; Swagger UI at /, /readyz, /metrics."""
    import os

    from .release import SERVICE, store_model
    from .settings import load_params

    params = load_params(params_path)
    tag = store_model(params, model_dir)
    shadow = store_model(params, shadow_dir) if shadow_dir is not None else ""
    beside = f" with the shadow {shadow}" if shadow else ""
    click.echo(f"Serving {tag}{beside} on http://{host}:{port} (Ctrl-C stops)")
    sys.stdout.flush()
    command = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port)]
    models = {"MODEL_TAG": tag, "SHADOW_TAG": shadow}
    os.execve(sys.executable, command, {**os.environ, **models})  # signals reach the server


@main.command()
@PARAMS
@MODEL_DIR
@path_option("--export", "export_to", help="Also write the bento, model included, here.")
@path_option("--sbom", help="Also write the SBOM (CycloneDX JSON) of the bento's packages here.")
@path_option(
    "--champion-bento",
    help="serving.champion_release's bento (release.yml downloads it): its model answers, and "
    "the trained model predicts beside it as the shadow.",
)
@user_errors
def build(
    params_path: Path, model_dir: Path, export_to: Path | None, sbom: Path | None, champion_bento: Path | None
) -> None:
    """Store the trained model in BentoML's store and build the service's bento; prints the bento tag.

    GITHUB_OUTPUT gets `bento`, `model` and `shadow` (the tags; no shadow: empty).
    `bentoml containerize <bento>` makes the image.
    """
    from . import release
    from .reports import set_outputs
    from .settings import load_params

    params = load_params(params_path)
    release_tag = params.serving.champion_release
    if (release_tag is None) != (champion_bento is None):
        raise ProjectError(
            f"build: serving.champion_release is {release_tag or 'null'} in params.yaml, but "
            + ("no --champion-bento was given (download that release's bento)" if release_tag
               else f"--champion-bento {champion_bento} was given; set the release there first")
        )  # fmt: skip
    bento, model, shadow = release.build(params, model_dir, champion_bento)
    if export_to is not None:
        release.export(bento, export_to)
    if sbom is not None:
        release.write_sbom(sbom)
    set_outputs(bento=bento, model=model, shadow=shadow or "")
    served = f"{model} (from {release_tag}) with the shadow {shadow}" if shadow else model
    click.echo(f"Built {bento} serving {served}" + (f"; exported to {export_to}" if export_to else ""))
    click.echo(bento)


@main.command("fetch-champion")
@PARAMS
@path_option("--out", default="artifacts/champion", show_default=True, help="Folder for the release's bento.")
@click.option("--repo", envvar="GITHUB_REPOSITORY", required=True, help="owner/name ($GITHUB_REPOSITORY).")
@click.option(
    "--verify/--no-verify",
    envvar="ATTESTED",
    default=False,
    help="Check the bento's build-provenance attestation (gh attestation verify) [$ATTESTED].",
)
@user_errors
def fetch_champion(params_path: Path, out: Path, repo: str, verify: bool) -> None:
    """The bento of the release serving.champion_release names, from GitHub (through gh), for
    `build --champion-bento`: its model answers, and the trained one is its shadow (README, Shadow).

    GITHUB_OUTPUT gets `bento`: its path, or empty when params.yaml names no release (nothing fetched).
    """
    from .release import download_champion
    from .reports import set_outputs
    from .settings import load_params

    release_tag = load_params(params_path).serving.champion_release
    if release_tag is None:
        set_outputs(bento="")
        click.echo("serving.champion_release is null: main's model answers alone; nothing to fetch")
        return
    bento = download_champion(release_tag, repo, out, verify)
    set_outputs(bento=bento)
    checked = " (its attestation verified)" if verify else ""
    click.echo(f"Fetched {release_tag}'s bento{checked} to {bento}")


@main.command("find-review")
@click.option("--repo", envvar="GITHUB_REPOSITORY", required=True, help="owner/name ($GITHUB_REPOSITORY).")
@click.option("--commit", envvar="GITHUB_SHA", required=True, help="The merge commit ($GITHUB_SHA).")
@user_errors
def find_review(repo: str, commit: str) -> None:
    """The pull request merged as COMMIT and its own review run, from GitHub's API (through gh).

    Only that pull request's `pull_request` runs of its head, or the drift job's dispatch, count; all of
    them must have passed. GITHUB_OUTPUT gets `pr`, `run-id` and `conclusion` (empty when none).
    """
    from . import reports, review_run

    found = review_run.merged_review(repo, commit)
    reports.set_outputs(
        pr=found["pr"] or "", **{"run-id": found["run_id"] or ""}, conclusion=found["conclusion"] or ""
    )
    click.echo(f"Pull request: {found['pr'] or 'none'}; review: {found['why']}")


@main.command("model-card")
@PARAMS
@MODEL_DIR
@path_option("--reviewed", help="The merged pull request's review artifact (model-review).")
@click.option("--pr", type=click.IntRange(min=1), help="The merged pull request (from GitHub's API).")
@click.option(
    "--review-conclusion",
    type=click.Choice(CONCLUSIONS),
    help="How the pull request's review run ended (from GitHub's API).",
)
@click.option("--image", help="The service's container image, for the card's instructions.")
@path_option("--out", default="dist/MODEL_CARD.md", help="Where to write the card.")
@user_errors
def model_card(
    params_path: Path,
    model_dir: Path,
    reviewed: Path | None,
    pr: int | None,
    review_conclusion: str | None,
    image: str | None,
    out: Path,
) -> None:
    """Check the model against its pull request's review, then write the model card (release notes).

    Exits 1, naming both values, when the model differs from the one the review trained.
    GITHUB_OUTPUT gets `vouched`: true only when the review matched and passed.
    """
    from . import reports
    from .model_card import model_card
    from .records import read_training_record
    from .release import check_review
    from .settings import load_params

    metrics = read_training_record(model_dir)
    review = check_review(metrics, reviewed, pr, review_conclusion)
    reports.publish(model_card(load_params(params_path), model_dir, image, review), out)
    reports.set_outputs(vouched=review["vouched"])
    said = {"match": "equal to the reviewed ones", "unreviewed": "recorded (no review found to check)"}
    warning = "" if review["vouched"] else "; no passing review vouches for it: a pre-release, not deployed"
    click.echo(f"Holdout metrics {said[review['status']]}{warning}. Wrote {out}")


@main.command("data-remote")
@click.argument("url")
@PARAMS
@user_errors
def data_remote(url: str, params_path: Path) -> None:
    """Move the training data out of git into a DVC remote at URL (s3://…, gs://…, ssh://…, a folder).

    Runs dvc init, dvc remote add, dvc add and dvc push, and stages the pointer and config files to
    commit; the data file stays on disk, ignored by git. Needs DVC: uv add 'dvc[s3]' (or gs, azure, ssh).
    """
    from .data_remote import move_to_remote
    from .settings import load_params

    params = load_params(params_path)
    files = move_to_remote(params, url)
    click.echo(f"Pushed {params.data.path} to {url}; git now tracks {params.data.path}.dvc in its place.")
    click.echo("Staged: " + ", ".join(files) + f" (and {params.data.path} removed from git).")
    click.echo("Commit them, and give the workflows read access to the remote: see README, Bigger data.")


@main.command("fetch-data")
@PARAMS
@user_errors
def fetch_data(params_path: Path) -> None:
    """Download the training data from its DVC remote, when DVC keeps it (else nothing to do).

    $DVC_REMOTE_CONFIG, when set (the workflows pass a secret), holds the remote's credentials: they
    are .dvc/config.local (0600, never through a symlink) for the download only, then removed.
    """
    from .data_remote import fetch
    from .settings import load_params

    params = load_params(params_path)
    if fetch(params):
        click.echo(f"Fetched {params.data.path} (the version {params.data.path}.dvc names) from DVC.")
    else:
        click.echo(f"{params.data.path} is in git: nothing to fetch.")


@main.command("setup-github")
@click.option("--repo", metavar="OWNER/NAME", help="Default: the repository of this clone's remote (gh).")
@click.option("--dry-run", is_flag=True, help="Print what would change and what is kept; change nothing.")
@click.option(
    "--reviewer",
    "reviewers",
    multiple=True,
    metavar="LOGIN|ORG/TEAM",
    help="A required reviewer of the production environment (deploy.yml); repeat for more. Without "
    "any, there or already set, that step fails.",
)
@user_errors
def setup_github(repo: str | None, dry_run: bool, reviewers: tuple[str, ...]) -> None:
    """Make the settings a new GitHub repository needs, with the GitHub CLI (gh); safe to rerun.

    The `drift` label; branch protection of main requiring "champion vs challenger" from GitHub
    Actions on an up-to-date branch and one approval of the latest push (stricter rules kept);
    Actions allowed to open pull requests only without a GitHub App; the `drift` environment (and
    `production` with deploy.yml, with its reviewers) limited to main; the drift job's secrets out of
    the repository's. One line per step; exits 1 if any step failed.
    """
    from .github_setup import project_root, setup

    sys.exit(setup(repo, dry_run, project_root(Path.cwd()), click.echo, reviewers))
