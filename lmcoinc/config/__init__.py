"""The configuration of lmcoinc: magic-cta-pipe's YAML keys and lmcoinc's own, validated.

:func:`load_config` reads a YAML file (or the built-in default) into a
:class:`CoincidenceConfig`, and :mod:`.effective` gives it back as YAML; the
clock-offset and drift keys are validated in :mod:`.clock_keys`, time
quantities in :mod:`.quantities`, the history of known clock offsets is
:mod:`.history`, the Dask workers a batch starts (``cluster:``) :mod:`.cluster`.
"""

from .clock_keys import OFFSET_MODELS
from .cluster import CLUSTER_TYPES, ClusterSettings
from .effective import config_document, config_yaml
from .history import OffsetHistory, night_of, packaged_history
from .parse import (
    LST_NAMES,
    MAGIC_NAMES,
    TIMESTAMP_TYPES_LST,
    CoincidenceConfig,
    commented_config_text,
    default_config_text,
    load_config,
    parse_config,
    telescope_combinations,
)

__all__ = [
    "CLUSTER_TYPES",
    "LST_NAMES",
    "MAGIC_NAMES",
    "OFFSET_MODELS",
    "TIMESTAMP_TYPES_LST",
    "ClusterSettings",
    "CoincidenceConfig",
    "OffsetHistory",
    "commented_config_text",
    "config_document",
    "config_yaml",
    "default_config_text",
    "load_config",
    "night_of",
    "packaged_history",
    "parse_config",
    "telescope_combinations",
]
