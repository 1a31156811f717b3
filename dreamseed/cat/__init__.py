"""DreamSeed's computerized adaptive testing engine: IRT models, ability estimation, item
selection, stopping rules and calibration, in numpy and scipy only (no Django, no Celery).

The web layer builds one :class:`ItemPool` per pool version, caches it per process, and calls
:func:`cat_step` on each request with the administered item indices and responses.
Calibration is :func:`dreamseed.cat.calibration.calibrate`. The command-line tools are under
:mod:`dreamseed.cat.cli` (``python -m dreamseed.cat.cli.simulate``, ``... .cli.calibrate``).

Items scored 0..m (GPCM, PCM, GRM) and mixed banks: :class:`PolyBank` (built by
:func:`make_bank`), :class:`PolyItemPool` and :func:`poly_cat_step` for adaptive tests,
:func:`estimate_poly`, and :func:`dreamseed.cat.calibration_poly.calibrate_poly`.
"""

from .adaptive_poly import PolyCatSession, PolyItemPool, poly_cat_step
from .calibration import CalibrationResult
from .estimation import (
    ESTIMATORS,
    Prior,
    estimate,
    estimate_eap,
    estimate_map,
    estimate_mle,
    estimate_wle,
)
from .estimation_poly import estimate_poly
from .exceptions import (
    CatError,
    ConfigurationError,
    CsvFormatError,
    EmptyBankError,
    InvalidParametersError,
    InvalidResponsesError,
)
from .irt import (
    information,
    information_peak,
    log_likelihood,
    make_params,
    probability,
    test_information,
    validate_params,
)
from .polytomous import PolyBank, make_bank
from .pool import ItemPool
from .selection import SELECTORS, Selection, select_item
from .step import CatSession, StepResult, cat_step
from .stopping import StoppingRule, should_stop

__all__ = [
    "ESTIMATORS",
    "SELECTORS",
    "CalibrationResult",
    "CatError",
    "CatSession",
    "ConfigurationError",
    "CsvFormatError",
    "EmptyBankError",
    "InvalidParametersError",
    "InvalidResponsesError",
    "ItemPool",
    "PolyBank",
    "PolyCatSession",
    "PolyItemPool",
    "Prior",
    "Selection",
    "StepResult",
    "StoppingRule",
    "cat_step",
    "estimate",
    "estimate_eap",
    "estimate_map",
    "estimate_mle",
    "estimate_poly",
    "estimate_wle",
    "information",
    "information_peak",
    "log_likelihood",
    "make_bank",
    "make_params",
    "poly_cat_step",
    "probability",
    "select_item",
    "should_stop",
    "test_information",
    "validate_params",
]
