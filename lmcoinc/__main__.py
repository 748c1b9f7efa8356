"""``python -m lmcoinc`` and the ``lmcoinc`` command.

For ``lmcoinc batch -j N`` (N > 1, without Dask), the batch's fork server
(:mod:`lmcoinc.batch.workers`) is started first thing, before the
command-line application is imported: it imports the modules of the jobs
while this process imports and parses the command line.
"""

from __future__ import annotations

import sys

#: The options after which ``batch`` runs elsewhere than in local workers, or not at all.
_NOT_LOCAL = ("--dask-scheduler", "--cluster", "--help", "-h")


def batch_jobs(argv: list[str]) -> int:
    """The worker processes that the command line ``argv`` (without the program) asks
    ``batch`` for: ``-j N``, ``-jN``, ``--jobs N`` or ``--jobs=N``; 1 for any other command,
    with Dask or help, or a value that is not a number (the application tells the error)."""
    if not argv or argv[0] != "batch":
        return 1
    jobs = "1"
    for index, arg in enumerate(argv[1:], start=1):
        if arg == "--" or arg.split("=", 1)[0] in _NOT_LOCAL:
            return 1
        if arg in ("-j", "--jobs"):
            jobs = argv[index + 1] if index + 1 < len(argv) else "1"
        elif arg.startswith("--jobs="):
            jobs = arg.split("=", 1)[1]
        elif arg.startswith("-j") and not arg.startswith("--"):
            jobs = arg[2:]
    return int(jobs) if jobs.isdigit() else 1


def main() -> None:
    """Console entry point: the batch's fork server started when asked for, then the
    application (:func:`lmcoinc.cli.main`)."""
    if batch_jobs(sys.argv[1:]) > 1:
        from .batch.workers import BATCH_MODULES, start_fork_server

        start_fork_server(BATCH_MODULES)
    from .cli import main as application

    application()


if __name__ == "__main__":
    main()
