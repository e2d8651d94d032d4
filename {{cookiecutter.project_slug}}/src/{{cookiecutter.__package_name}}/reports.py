"""Markdown for people, and where it goes.

Every report is a Jinja2 template under `templates/` rendered by `render`: the validation report
(here), the PR comment (pr_comment.py), the model card (model_card.py), the drift summary
(drift.py), the retraining PR's body (retraining.py) and an inferred schema.py (schema_inference.py).
`publish` writes one to a file and to the GitHub job summary; `set_outputs` and `links` are the
other two ends of a step: its outputs and the links to its run.
"""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from . import charts, data

_env = Environment(
    loader=PackageLoader(__package__, "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)
_env.filters["md"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ")
_env.filters["mermaid"] = charts.mermaid


def render(template: str, **values) -> str:
    return _env.get_template(template).render(**values)


def validation_report(source: str, n_rows: int, failures=None) -> str:
    summary = data.failure_summary(failures) if failures is not None else []
    return render(
        "validation.md.j2",
        source=source,
        n_rows=n_rows,
        n_failures=0 if failures is None else len(failures),
        summary=summary,
        package=__package__,
    )


def validation_text(source: str, n_rows: int, failures=None) -> str:
    """The validation result for a terminal or a CI log: an aligned table instead of Markdown."""
    if failures is None:
        return f"✅ {source}: {n_rows:,} rows match the schema"
    summary = data.failure_summary(failures)
    header = ["column", "check", "failures", "examples", "first rows"]
    rows = [[r["column"], r["check"], str(r["count"]), r["examples"], r["rows"]] for r in summary]
    return "\n".join(
        [
            f"❌ {source}: {len(failures):,} schema violation{'s' if len(failures) != 1 else ''} "
            f"in {n_rows:,} rows",
            "",
            text_table(header, rows),
            "",
            "Rows are numbered from 1, the first data row (a CSV's line 2). "
            f"The schema is src/{__package__}/schema.py.",
        ]
    )


def text_table(header: list[str], rows: list[list[str]], limit: int = 40) -> str:
    """Columns padded to their widest cell (cut at `limit` characters)."""
    cut = [
        [cell if len(cell) <= limit else cell[: limit - 1] + "…" for cell in row] for row in [header, *rows]
    ]
    widths = [max(len(row[i]) for row in cut) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cut]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def set_outputs(**values) -> None:
    """Step outputs for the workflow (GITHUB_OUTPUT), when running in GitHub Actions."""
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.writelines(
                f"{key}={str(v).lower() if isinstance(v, bool) else v}\n" for key, v in values.items()
            )


def notice(title: str, message: str) -> None:
    """A notice on the run's page (a workflow command on stdout), when running in GitHub Actions."""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(f"::notice title={title}::{message.replace('%', '%25').replace(chr(10), '%0A')}", flush=True)


def publish(markdown: str, path: Path | None) -> None:
    """Write a report to `path` and, inside GitHub Actions, append it to the job summary."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")


def links() -> dict:
    """Links to this workflow run, from the variables GitHub Actions sets (read as data, never as code).

    `report`: the drift report uploaded as one file (DRIFT_REPORT_URL, set by drift.yml), which
    opens in the browser in one click.
    """
    server, repo, run = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if not (server and repo and run):
        return {}
    run_url = f"{server}/{repo}/actions/runs/{run}"
    found = {"run": run_url, "artifacts": f"{run_url}#artifacts"}
    report = os.environ.get("DRIFT_REPORT_URL", "")
    if report.startswith(f"{server}/{repo}/"):  # only this repository's own pages
        found["report"] = report
    return found
