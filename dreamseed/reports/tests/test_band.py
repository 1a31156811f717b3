"""The student report's plain-language band is the class pages' achievement band."""

import pytest

from dreamseed.classes.results import BANDS
from dreamseed.reports.selectors import _band


@pytest.mark.parametrize(
    ("theta", "band"),
    [
        (-2.5, "well_below"),
        (-1.0, "below"),
        (-0.36, "below"),
        (-0.35, "middle"),
        (0.0, "middle"),
        (0.35, "above"),
        (0.99, "above"),
        (1.0, "well_above"),
        (3.0, "well_above"),
    ],
)
def test_report_band_uses_the_class_cut_points(theta, band):
    assert _band(theta) == band
    assert band in {key for key, _low, _high, _label in BANDS}


def test_report_band_without_an_estimate_reads_as_middle():
    assert _band(None) == "middle"
