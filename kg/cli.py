"""The ``kg`` command. Each command is a thin layer over one library function; the library's
errors (:class:`kg.errors.KGError`) become one clean line on stderr and exit status 1."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from .errors import KGError

__all__ = ["cli"]


def _clean_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except KGError as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


@click.group()
@click.version_option(package_name="kg")
def cli():
    """Build and question a knowledge graph of news reports, every fact traced to its sentence."""


@cli.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Data directory (default: the project's data/).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("build"), show_default=True, help="Output directory.")
@click.option("--no-validate", is_flag=True, help="Skip the SHACL check (faster, for big loads).")
@_clean_errors
def build(data_dir, out_dir, no_validate):
    """Build the graph from articles and claims: writes kg.trig, kg.nq, store/, summary.json."""
    from .pipeline import DEFAULT_DATA, build as run_build

    report = run_build(data_dir or DEFAULT_DATA, out_dir, validate=not no_validate)
    click.echo(f"built {out_dir}/ from {data_dir or DEFAULT_DATA}")
    for name in ("articles", "claims", "actors", "meetings", "pledges", "statements", "figures",
                 "graphs", "triples"):
        click.echo(f"  {name:<11}{getattr(report, name):>7}")
    click.echo("  SHACL      " + ("skipped" if no_validate else "conforms"))
    for path in report.outputs:
        click.echo(f"  wrote {path}")


def main():  # pragma: no cover - console entry point
    cli(prog_name="kg")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
