"""errors: the exit code of each error, the role of an input file's error, one-line messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmcoinc import errors
from lmcoinc.errors import (
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_SUBRUNS_FAILED,
    BatchLockedError,
    ConfigError,
    InvalidFileError,
    LmcoincError,
    LstInputError,
    MagicInputError,
    MissingPackageError,
    NoCoincidenceError,
    NoMagicEventsError,
    OutputError,
    ReportInputError,
    SchedulerError,
    TooManyMultiMatchesError,
    exit_code,
    input_roles,
    one_line,
)

#: The documented code of each error (README, ``lmcoinc run --help``).
CODES = {
    SchedulerError: 2, MissingPackageError: 2, NoCoincidenceError: 3, NoMagicEventsError: 7,
    TooManyMultiMatchesError: 11, ConfigError: 12, InvalidFileError: 13, LstInputError: 13,
    MagicInputError: 14, OutputError: 15, ReportInputError: 16, BatchLockedError: 17,
}


def _error(cls: type[BaseException]) -> BaseException:
    return cls("data.h5", "broken") if issubclass(cls, InvalidFileError) else cls("broken")


@pytest.mark.parametrize("cls", list(CODES), ids=lambda c: c.__name__)
def test_exit_code_of_each_error(cls):
    assert exit_code(_error(cls)) == CODES[cls]
    assert CODES[cls] in EXIT_CODES

    class Narrower(cls):  # a subclass takes its parent's code
        pass

    assert exit_code(_error(Narrower)) == CODES[cls]


def test_every_user_error_has_a_documented_code():
    user_errors = [v for v in vars(errors).values()
                   if isinstance(v, type) and issubclass(v, LmcoincError) and v is not LmcoincError]
    assert sorted(c.__name__ for c in user_errors) == sorted(c.__name__ for c in CODES)
    assert sorted({*CODES.values(), 0, 1, EXIT_SUBRUNS_FAILED, EXIT_INTERRUPTED}) == sorted(
        EXIT_CODES)
    assert (EXIT_SUBRUNS_FAILED, EXIT_INTERRUPTED) == (4, 130)


@pytest.mark.parametrize(("err", "code"), [
    (KeyboardInterrupt(), EXIT_INTERRUPTED), (LmcoincError("x"), 1), (RuntimeError("bug"), 1),
    (ValueError("bug"), 1), (ImportError("no module"), 1), (OSError(28, "full"), 1),
])
def test_exit_code_of_other_errors(err, code):
    assert exit_code(err) == code


def test_missing_package_is_an_import_error():
    with pytest.raises(ImportError):
        raise MissingPackageError("lmcoinc[report] is not installed")


def test_invalid_file_error_names_the_file():
    err = InvalidFileError("dir/data.h5", "truncated file (10 of 20 bytes)")
    assert err.path == Path("dir/data.h5") and err.problem == "truncated file (10 of 20 bytes)"
    assert str(err) == "dir/data.h5: truncated file (10 of 20 bytes)"


# --- input roles ----------------------------------------------------------------------------


ROLES = {"in/lst.h5": LstInputError, Path("in/magic"): MagicInputError}


@pytest.mark.parametrize(("path", "role"), [
    ("in/lst.h5", LstInputError),
    ("in/magic", MagicInputError),
    ("in/magic/dl1_M1.Run05093711.001.h5", MagicInputError),
    ("in/magic/sub/deeper.h5", MagicInputError),
    ("in/magic2/dl1_M1.h5", InvalidFileError),  # not under the directory: a name's prefix
    ("in/lst.h5.bak", InvalidFileError),
    ("config.yaml", InvalidFileError),
])
def test_input_roles(path, role):
    with pytest.raises(InvalidFileError) as err, input_roles(ROLES):
        raise InvalidFileError(path, "not an HDF5 file")
    assert type(err.value) is role
    assert (err.value.path, err.value.problem) == (Path(path), "not an HDF5 file")
    assert str(err.value) == f"{path}: not an HDF5 file"
    if role is not InvalidFileError:
        assert err.value.__suppress_context__


def test_input_roles_keep_other_errors():
    with pytest.raises(ReportInputError), input_roles(ROLES):  # its role already given
        raise ReportInputError("in/magic", "no output")
    with pytest.raises(NoCoincidenceError), input_roles(ROLES):
        raise NoCoincidenceError("no coincident events")
    with pytest.raises(KeyError), input_roles(ROLES):
        raise KeyError("in/lst.h5")
    with input_roles(ROLES):  # nothing raised: nothing happens
        pass


# --- one line -------------------------------------------------------------------------------


@pytest.mark.parametrize(("err", "line"), [
    (ValueError("one line"), "one line"),
    (OSError("first\n  second  \n\nthird"), "first second third"),
    (RuntimeError(""), "RuntimeError"),
    (KeyboardInterrupt(), "KeyboardInterrupt"),
    ("  a text\nover lines ", "a text over lines"),
    ("", ""),
])
def test_one_line(err, line):
    assert one_line(err) == line


def test_one_line_limit():
    text = "word " * 100
    assert one_line(ValueError(text)) == text.strip()[:300]
    assert one_line(ValueError(text), limit=12) == "word word wo"
