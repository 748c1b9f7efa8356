"""What the coincidence of LST-1 with one MAGIC telescope works on: their events' times."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TelescopeEvents"]


@dataclass(frozen=True)
class TelescopeEvents:
    """The events of one coincidence of LST-1 with one MAGIC telescope.

    Attributes
    ----------
    tel_id, name : int, str
        The MAGIC telescope.
    t_lst, intensity_lst : numpy.ndarray
        LST-1 timestamps (int64 ns) and intensities, in table order.
    t_magic, intensity_magic : numpy.ndarray
        The same for the telescope's MAGIC events.
    pointing_alt, pointing_az : numpy.ndarray
        The pointing (rad) of each MAGIC event.
    subrun : str
        The subrun they come from (its LST-1 file name), for the messages.
    """

    tel_id: int
    name: str
    t_lst: np.ndarray
    intensity_lst: np.ndarray
    t_magic: np.ndarray
    intensity_magic: np.ndarray
    pointing_alt: np.ndarray
    pointing_az: np.ndarray
    subrun: str = ""

    @property
    def label(self) -> str:
        """``subrun: telescope`` (the telescope alone without a subrun name), for messages."""
        return f"{self.subrun}: {self.name}" if self.subrun else self.name
