"""nox sessions: ``nox -s lowest`` runs the tests with the lowest numpy and polars allowed.

pyproject.toml's lower bounds (numpy>=1.24, polars>=1.38.1, nanoarrow>=0.6) are claims;
this session tests them in a fresh environment, with pyarrow at its lower bound too
(pyarrow 26 needs numpy 2 at run time without saying so in its metadata: beside numpy
1.x it must be older); the rest of the stack resolves to what those versions allow. Give the
reference interpreter as for ``make test`` (``LMCOINC_REFERENCE_PYTHON``) for the
differential tests.
"""

from __future__ import annotations

import nox

#: The lowest versions that pyproject.toml allows.
LOWEST = ["numpy==1.24.0", "polars==1.38.1", "nanoarrow==0.6.0", "pyarrow==15.0.0"]
#: Tests that check the simulated input files against the digests recorded with the
#: development stack (numpy 2): older numerical libraries simulate other bytes. The
#: differential tests against the live reference run on the inputs simulated here.
STACK_DIGESTS = ["tests/integration/test_reference.py::test_identical_to_golden",
                 "tests/simulate/test_package.py::test_night_tables_unchanged"]

nox.options.sessions = ["lowest"]


@nox.session(python="3.11")
def lowest(session: nox.Session) -> None:
    """The tests with numpy 1.24.0, polars 1.38.1, nanoarrow 0.6.0 and pyarrow 15.0.0."""
    session.install("-e", ".[test,simulate,report]", *LOWEST)
    session.run("python", "-c", "import numpy, polars; "
                "print('numpy', numpy.__version__, 'polars', polars.__version__)")
    session.run("python", "-c", "import pyarrow; print('pyarrow', pyarrow.__version__)")
    deselect = [f"--deselect={test}" for test in STACK_DIGESTS]
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *deselect,
                *session.posargs)
