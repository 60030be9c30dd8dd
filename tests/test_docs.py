"""The documentation matches the code: every command has help, every claim kind is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.claims import KIND_FIELDS
from kg.cli import cli
from kg.query import load_queries

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLAIMS_DOC = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(name):
    command = cli.commands[name]
    assert command.help and len(command.help.strip()) > 20, name
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    for param in command.params:
        if param.param_type_name == "option" and param.name not in ("help",):
            assert param.help, f"kg {name} {param.opts[0]} has no help"


def test_readme_quick_start_has_exactly_the_two_commands():
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["pip install -e . && kg build", "bash tests/run.sh"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "tests/run.sh" in ci


def test_readme_mentions_every_command_and_named_query():
    for name in cli.commands:
        if name not in ("export",):
            assert f"kg {name}" in README, f"README does not show `kg {name}`"
    for name in load_queries():
        if not name.startswith("view_"):
            assert f"`{name}`" in README, f"README does not list the query {name}"


def test_every_claim_kind_and_field_is_documented():
    for kind, fields in KIND_FIELDS.items():
        row = next((line for line in CLAIMS_DOC.splitlines() if line.startswith(f"| `{kind}` |")),
                   None)
        assert row, f"docs/claims.md has no row for {kind}"
        for name in fields:
            assert re.search(rf"\b{name}\b", row), f"{kind}.{name} is not documented"


def test_readme_example_outputs_are_real(build_dir):
    """Every `$ kg query|path ...` example in the README prints exactly what it shows."""
    import shlex
    import subprocess
    import sys

    blocks = re.findall(r"```\n(\$ kg .*?)```", README, re.S)
    checked = 0
    for block in blocks:
        for part in re.split(r"^\$ ", block, flags=re.M):
            command, _, expected = part.partition("\n")
            args = shlex.split(command)[1:]
            if not args or args[0] not in ("query", "path", "sparql"):
                continue
            out = subprocess.run([sys.executable, "-m", "kg.cli", *args, "--store",
                                  str(build_dir / "store")], capture_output=True, text=True)
            assert out.stdout.rstrip("\n") == expected.rstrip("\n"), command
            checked += 1
    assert checked >= 4
