"""Every `runlake` flag written in a unit reads it through the one grammar (layout.units):
the same cases as the parser's, through click, so a flag that parses on its own fails."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from runlake.cli.common import Duration, Size
from runlake.cli.main import main
from tests.helpers.units import BAD_DURATIONS, BAD_SIZES, BLANK_DURATIONS, DURATIONS, SIZES

REQUIRED = {"watch": ["--sink", "http://runlake-ingest:8080"]}


def _flags(kind: type[click.ParamType]) -> list[tuple[str, str, str]]:
    """(command, flag, parameter name) of every option of that type."""
    return sorted(
        (name, param.opts[0], param.name)
        for name, command in main.commands.items()
        for param in command.params
        if isinstance(param.type, kind)
    )


DURATION_FLAGS = _flags(Duration)
SIZE_FLAGS = _flags(Size)


def _parsed(command: str, flag: str, name: str, text: str):
    args = [*REQUIRED.get(command, []), flag, text]
    return main.commands[command].make_context(command, args).params[name]


def test_cli_units_every_duration_and_size_flag_uses_the_types():
    assert [flag[:2] for flag in DURATION_FLAGS] == [
        ("compact", "--older-than"),
        ("materialize", "--interval"),
        ("watch", "--prune-after"),
    ]
    assert [flag[:2] for flag in SIZE_FLAGS] == [("compact", "--target-size")]


@pytest.mark.parametrize("flag", DURATION_FLAGS, ids=lambda f: f[1])
@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_cli_units_duration_flags_read_the_grammar(flag, text, expected):
    assert _parsed(*flag, text) == expected


@pytest.mark.parametrize("flag", DURATION_FLAGS, ids=lambda f: f[1])
@pytest.mark.parametrize("text", BAD_DURATIONS + BLANK_DURATIONS)
def test_cli_units_duration_flags_refuse_the_rest_as_usage_errors(flag, text):
    with pytest.raises(click.BadParameter):
        _parsed(*flag, text)


@pytest.mark.parametrize(("text", "expected"), SIZES)
def test_cli_units_size_flag_reads_sizes(text, expected):
    assert _parsed(*SIZE_FLAGS[0], text) == expected


@pytest.mark.parametrize("text", BAD_SIZES)
def test_cli_units_size_flag_refuses_the_rest(text):
    with pytest.raises(click.BadParameter):
        _parsed(*SIZE_FLAGS[0], text)


def test_cli_units_bad_duration_exits_2_naming_the_forms(tmp_path):
    result = CliRunner().invoke(
        main, ["compact", "--older-than", "7x"], env={"RUNLAKE_STORE": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "'7x'" in result.stderr and "1.5h, 7d, 2w" in result.stderr
    assert "Traceback" not in result.output
