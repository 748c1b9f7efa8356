"""Command-line interface: parses arguments, calls the library, shows the results."""

from . import coincidence, info, tools  # noqa: F401 - the commands register themselves on the app
from .base import app, main

__all__ = ["app", "main"]
