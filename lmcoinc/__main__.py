"""``python -m lmcoinc``."""

from .cli import main

main()
