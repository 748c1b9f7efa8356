"""A module that, when imported, appends the importing process's pid to the file named by
``LMCOINC_TEST_IMPORT_MARKER``: which processes imported it."""

import os

_MARKER = os.environ.get("LMCOINC_TEST_IMPORT_MARKER")
if _MARKER:
    with open(_MARKER, "a") as marker:
        marker.write(f"{os.getpid()}\n")
