"""A section of the configuration: a mapping of known keys, or a named error."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

__all__ = ["checked_section"]


def checked_section(value: Any, path: str, known: tuple[str, ...], name: str) -> dict:
    """The section ``path`` of config ``name``, a mapping with only ``known`` keys.

    Raises
    ------
    ConfigError
        If it is not a mapping or has an unknown key (all are named).
    """
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: {path} must be a mapping ({', '.join(known)})")
    unknown = [str(k) for k in value if k not in known]
    if unknown:
        raise ConfigError(f"{name}: unknown key(s) {path}.{', '.join(unknown)} (known: "
                          f"{', '.join(known)})")
    return value
