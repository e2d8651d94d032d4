"""Odd answers either bake a working project or are refused with one clear line, generating nothing.

Refusals are tested on the pre-generation hook itself, rendered as cookiecutter renders it for the
answers and imported; one bake shows the hook is wired in (it stops cookiecutter, nothing is written).
"""

from __future__ import annotations

import ast
import subprocess
import tomllib
import types
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from cookiecutter.utils import create_env_with_context

from harness.project import BIN, TEMPLATE, bake, run

pytestmark = pytest.mark.tier1

HOOK = TEMPLATE / "hooks" / "pre_gen_project.py"

WORKING = {
    "quotes and backslashes": {
        "project_name": 'Dave\'s "Best" Model',
        "description": 'Say "hi" \\ then """ go',
        "author": "O'Brien & Co <ml@example.com>",
    },
    "unicode": {"project_name": "Modèle de prévision ☂", "author": "Zoë Ünal"},
    "spaces around": {"project_name": "  Churn   Model  "},
    "path tricks in the name": {"project_name": "../../etc/passwd"},
    "symbols only (slug falls back to ml-project)": {"project_name": "!!!"},
    "the longest slug (40 characters)": {"project_name": "Customer Lifetime Value Forecasts Models"},
}
REFUSED = {
    "leading digit": ({"project_name": "3D Model"}, "project_slug: '3d-model' is not allowed"),
    "keyword": ({"project_name": "class"}, "project_slug: 'class' gives package 'class', a Python keyword"),
    "soft keyword": (
        {"project_name": "match"},
        "project_slug: 'match' gives package 'match', a Python keyword",
    ),
    "stdlib clash": (
        {"project_name": "json"},
        "project_slug: 'json' gives package 'json', which would shadow",
    ),
    "dependency clash": (
        {"project_name": "pandas"},
        "project_slug: 'pandas' gives package 'pandas', which would shadow",
    ),
    "path in slug": ({"project_slug": "../x"}, "project_slug: '../x' is not allowed"),
    "uppercase slug": ({"project_slug": "MyModel"}, "project_slug: 'MyModel' is not allowed"),
    "slug too long": (
        {"project_name": "Customer Lifetime Value Forecasting Model"},
        "project_slug: 'customer-lifetime-value-forecasting-model' is 41 characters; use at most 40",
    ),
    "double hyphen": ({"project_slug": "my--model"}, "project_slug: 'my--model' is not allowed"),
    "empty author": ({"author": "  "}, "author: '  ' is empty"),
    "newline": ({"description": "two\nlines"}, "description: 'two\\nlines' must be one line"),
    "bad cron": ({"drift_schedule": "every monday"}, "drift_schedule: 'every monday' is not a cron schedule"),
    "cron injection": (
        {"drift_schedule": "0 6 * * 1\n  x: y"},
        "drift_schedule: '0 6 * * 1\\n  x: y' is not a cron",
    ),
}


@pytest.mark.parametrize("answers", WORKING.values(), ids=WORKING.keys())
def test_odd_answers_bake_a_valid_project(tmp_path, answers):
    project = bake(tmp_path, **answers)
    assert project.parent == tmp_path  # nothing escaped the output folder
    assert project.name != "" and (project / "pyproject.toml").is_file()
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == answers.get(
        "description", pyproject["project"]["description"]
    )
    if "author" in answers:
        assert pyproject["project"]["authors"] == [{"name": answers["author"]}]
    run([str(BIN / "ruff"), "check", "--no-cache", "."], project)
    run([str(BIN / "uv"), "lock", "--check", "--offline"], project)


def hook(**answers) -> types.ModuleType:
    """The pre-generation hook as cookiecutter runs it for these answers: rendered, then imported."""
    context = generate_context(TEMPLATE / "cookiecutter.json", extra_context=answers)
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    source = create_env_with_context(context).from_string(HOOK.read_text()).render(**context)
    module = types.ModuleType("pre_gen_project")
    exec(compile(source, str(HOOK), "exec"), module.__dict__)  # our own hook, rendered for these answers
    return module


@pytest.mark.parametrize(("answers", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_answers_are_refused_with_one_line(answers, message):
    rendered = hook(**answers)
    (problem,) = rendered.problems(rendered.ANSWERS)
    assert message in problem


@pytest.mark.parametrize("answers", WORKING.values(), ids=WORKING.keys())
def test_odd_answers_pass_the_hook(answers):
    rendered = hook(**answers)
    assert rendered.problems(rendered.ANSWERS) == []
    for field in ("project_name", "description", "author"):  # read back as given, quotes and all
        if field in answers:
            assert rendered.ANSWERS[field] == answers[field]


def test_answers_without_prompts_are_rendered_as_jinja_before_the_hook():
    """--no-input answers (and those `cruft update` passes back from .cruft.json) are templates to
    cookiecutter: the hook sees what they render to, never the expression, and cannot refuse it."""
    rendered = hook(project_name="Model {{ 7*7 }}", author="{{ cookiecutter.project_slug }} team")
    assert rendered.ANSWERS["project_name"] == "Model 49"
    assert rendered.ANSWERS["author"] == "model-49 team"
    assert rendered.problems(rendered.ANSWERS) == []


@pytest.mark.parametrize("markup", ["{{ 7*7 }}", "{% if 1 %}x{% endif %}", "{# note #}"])
def test_template_markup_left_in_an_answer_is_refused(markup):
    """An answer typed at a prompt is not rendered, so it keeps its markup; the first `cruft update`
    would render it and change the recorded answer."""
    rendered = hook()
    for field in ("project_name", "description", "author"):
        value = f"Model {markup}"
        (problem,) = rendered.problems(rendered.ANSWERS | {field: value})
        assert problem.startswith(f"{field}: {value!r} contains template markup"), problem


def test_markup_typed_at_the_prompt_stops_the_bake(tmp_path):
    typed = "Model {{ 7*7 }}\n" + "\n" * 20  # the name, then every other default
    done = subprocess.run(
        [str(BIN / "cookiecutter"), "-o", str(tmp_path), str(TEMPLATE)],
        input=typed, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "error: project_name: 'Model {{ 7*7 }}' contains template markup" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_each_refused_field_gets_its_own_line_and_nothing_is_baked(tmp_path, capfd):
    with pytest.raises(FailedHookException):
        bake(tmp_path, author="", description="")
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error:")]
    assert [line.split(":")[1].strip() for line in lines] == ["description", "author"]
    assert list(tmp_path.iterdir()) == []  # nothing generated


def test_slug_can_be_chosen_independently(tmp_path):
    project = bake(tmp_path, project_name="Anything", project_slug="churn-model")
    assert project.name == "churn-model"
    assert (project / "src" / "churn_model" / "cli.py").is_file()
    assert Path(project / "src" / "churn_model" / "__main__.py").read_text().count('"churn-model"') == 1
