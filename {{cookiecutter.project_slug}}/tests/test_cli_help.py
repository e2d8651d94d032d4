"""The CLI explains itself: `--help` is instant (the heavy libraries load only inside the verb that
runs), lists the verbs in the loop's order, and every option says what it is for."""

from __future__ import annotations

import click
import pytest
from support import PKG_NAME, run_fresh

from {{ cookiecutter.__package_name }} import cli

VERBS = sorted(name for name, verb in cli.main.commands.items() if not verb.hidden)


def test_help_lists_the_verbs_in_the_loops_order_without_heavy_imports():
    output, loaded = run_fresh(["--help"])
    assert loaded == "[]"
    listed = [line.split()[0] for line in output.splitlines() if line.startswith("  ") and line.split()]
    listed = [word for word in listed if word in cli.main.commands]
    assert listed == [verb for verbs in cli.SECTIONS.values() for verb in verbs]
    assert sorted(listed) == VERBS  # every verb is in a section, once
    for title in cli.SECTIONS:
        assert f"\n{title}:\n" in output


def test_version():
    from importlib.metadata import version

    output, loaded = run_fresh(["--version"])
    assert output == f"{PKG_NAME.replace('_', '-')} {version(PKG_NAME)}" and loaded == "[]"


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_and_option_says_what_it_is_for(verb):
    command = cli.main.commands[verb]
    assert command.help, f"{verb} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{verb} {param.opts[0]} has no help text"


@pytest.mark.parametrize("verb", VERBS)
def test_verb_help_without_heavy_imports(verb):
    output, loaded = run_fresh([verb, "--help"])
    assert loaded == "[]"
    assert output.startswith("Usage: ") and f" {verb} " in output.splitlines()[0]
