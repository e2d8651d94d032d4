"""Refuse answers that would bake a broken project, before anything is written.

Answers are read as data (JSON inside a raw string), never pasted into code,
so quotes, backslashes or newlines in an answer cannot change this script.
A refusal prints one line naming the field, the value and what is allowed.
"""

import json
import keyword
import re
import sys

ANSWERS = json.loads(
    r"""{
    "project_name": {{ cookiecutter.project_name | tojson }},
    "project_slug": {{ cookiecutter.project_slug | tojson }},
    "description": {{ cookiecutter.description | tojson }},
    "author": {{ cookiecutter.author | tojson }},
    "package_name": {{ cookiecutter.__package_name | tojson }},
    "drift_schedule": {{ cookiecutter.drift_schedule | tojson }}
}"""
)

SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
CRON_FIELD = re.compile(r"[0-9*/,\-]+|[A-Za-z]{3}(-[A-Za-z]{3})?")
# Import names of the generated project's own dependencies: a package named
# like one of them would shadow it.
DEPENDENCY_IMPORTS = {
    "click", "jinja2", "numpy", "pandas", "pandera", "pyarrow", "pydantic",
    "scipy", "skops", "sklearn", "yaml", "bentoml", "evidently", "sqlalchemy", "psycopg", "httpx",
}  # fmt: skip
MAX_LINE = 200
# The package's name goes into import lines of the generated tests, formatted for 120 columns.
MAX_SLUG = 40
# How Jinja markup opens: a brace then a brace, percent or hash (spelt apart, or cookiecutter's
# rendering of this file would read them). An answer holding one is rendered as Jinja by
# `cruft update`, which passes the recorded answers back as --no-input answers, so it would change
# (or fail) on the first update.
JINJA_MARKERS = tuple("{" + c for c in ("{", "%", "#"))


def problems(answers: dict) -> list[str]:
    """Return one message per refused answer (empty when all are fine)."""
    found = []
    for field in ("project_name", "project_slug", "description", "author"):
        value = answers[field]
        if not value.strip():
            found.append(f"{field}: {value!r} is empty; give a non-empty value")
        elif "\n" in value or "\r" in value or len(value) > MAX_LINE:
            found.append(f"{field}: {value!r} must be one line of at most {MAX_LINE} characters")
        elif any(marker in value for marker in JINJA_MARKERS):
            found.append(
                f"{field}: {value!r} contains template markup ({', '.join(JINJA_MARKERS)}), which "
                "cookiecutter renders as Jinja on `cruft update`; leave it out"
            )
    slug, package = answers["project_slug"], answers["package_name"]
    if slug.strip() and not SLUG.fullmatch(slug):
        found.append(
            f"project_slug: {slug!r} is not allowed; use lowercase letters, digits and single "
            "hyphens, starting with a letter (e.g. 'churn-model')"
        )
    elif len(slug) > MAX_SLUG:
        found.append(f"project_slug: {slug!r} is {len(slug)} characters; use at most {MAX_SLUG}")
    elif slug.strip():
        if keyword.iskeyword(package) or keyword.issoftkeyword(package):
            found.append(
                f"project_slug: {slug!r} gives package {package!r}, a Python keyword; choose another slug"
            )
        elif package in sys.stdlib_module_names or package in DEPENDENCY_IMPORTS:
            found.append(
                f"project_slug: {slug!r} gives package {package!r}, which would shadow the module of "
                "the same name; choose another slug"
            )
    cron = answers["drift_schedule"]
    fields = cron.split()
    if len(fields) != 5 or not all(CRON_FIELD.fullmatch(f) for f in fields):
        found.append(
            f"drift_schedule: {cron!r} is not a cron schedule; "
            "give five fields, e.g. '0 6 * * 1' (Mondays 06:00 UTC)"
        )
    return found


def main() -> int:
    found = problems(ANSWERS)
    for message in found:
        print(f"error: {message}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
