"""config/quantities: time quantities of the config in ns, exactly as astropy converts them,
and the error of each kind of bad value."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.config.quantities import quantity_ns
from lmcoinc.errors import ConfigError


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(st.integers(-10**9, 10**9).map(str),
              st.floats(-1e6, 1e6, allow_nan=False).map(repr),
              st.decimals(-10**6, 10**6, places=4, allow_nan=False).map(str)),
    st.sampled_from(["ns", "us", "µs", "ms", "s"]),
    st.sampled_from(["", " ", "  "]),
)
def test_plain_time_units_convert_exactly_as_astropy(number, unit, space):
    from astropy import units as u

    text = f"{number}{space}{unit}"
    want = u.Quantity(text).to_value(u.ns)
    assert quantity_ns(text, "key", "cfg") == want


@pytest.mark.parametrize("text", ["1 min", "0.5 h", "300 nanosecond", "1e3 ps", "2 us ",
                                  "3 s ", "1 ns", "-1.5e-3 s", "1 d"])
def test_other_forms_go_through_astropy(text):
    from astropy import units as u

    assert quantity_ns(text, "key", "cfg") == u.Quantity(text).to_value(u.ns)


def test_plain_forms_do_not_import_astropy():
    """astropy.units costs ~0.2 s per process: the usual forms do without it (and give what
    astropy gives)."""
    from astropy import units as u

    values = ("300 ns", "-10 us", "1.5 ms", "2 s")
    code = ("import sys; from lmcoinc.config.quantities import quantity_ns; "
            f"print(*[repr(quantity_ns(v, 'k', 'n')) for v in {values}], "
            "'astropy.units' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [*(repr(float(u.Quantity(v).to_value(u.ns))) for v in values),
                                  "False"]


@pytest.mark.parametrize(("value", "problem"), [
    (300, 'must be a time quantity such as "300 ns", got 300'),
    (None, 'must be a time quantity such as "300 ns", got None'),
    (["300 ns"], 'must be a time quantity such as "300 ns", got [\'300 ns\']'),
    ("three ns", "= 'three ns' is not a quantity"),
    ("300", "= '300' has no unit (write e.g. \"300 ns\")"),
    ("300 m", "= '300 m' is not a time (unit m)"),
    ("300 Hz", "= '300 Hz' is not a time (unit Hz)"),
    ("nan ns", "= 'nan ns' is not finite"),
    ("1e400 ns", "= '1e400 ns' is not finite"),
])
def test_errors_name_the_key_and_the_file(value, problem):
    with pytest.raises(ConfigError) as err:
        quantity_ns(value, "event_coincidence.window_half_width", "cfg.yaml")
    assert str(err.value) == f"cfg.yaml: event_coincidence.window_half_width {problem}"
    assert "\n" not in str(err.value)
