"""The click command of the Typer application, for sphinx-click (``docs/cli.md``)."""

import typer

from lmcoinc.cli import app

command = typer.main.get_command(app)
