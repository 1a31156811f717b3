"""One standard-error band around a scale score, shared by the result page, the class history
and the student report."""

from dreamseed.assessments.models import score_band


def test_band_is_one_scale_standard_error_either_side_of_the_score():
    assert score_band(512.0, 31.5) == (480.5, 543.5)


def test_band_is_empty_without_a_score_or_without_its_standard_error():
    assert score_band(None, 31.5) == (None, None)
    assert score_band(512.0, None) == (None, None)
    assert score_band(None, None) == (None, None)
