"""``python -m lmcoinc``."""

from .cli import app

app(prog_name="lmcoinc")
