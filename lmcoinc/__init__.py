"""lmcoinc: offline coincidence of LST-1 and MAGIC events from DL1 files.

``import lmcoinc`` stays cheap: attributes such as :func:`scan` are imported
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["scan"]

if TYPE_CHECKING:  # pragma: no cover
    from .io.dataset import scan


def __getattr__(name: str) -> Any:
    if name == "scan":
        from .io.dataset import scan

        return scan
    raise AttributeError(f"module 'lmcoinc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
