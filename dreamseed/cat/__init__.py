"""DreamSeed's computerized adaptive testing engine: IRT models, ability estimation, item
selection, stopping rules and calibration, in numpy and scipy only (no Django, no Celery).

The web layer builds one :class:`ItemPool` per pool version, caches it per process, and calls
:func:`cat_step` on each request with the administered item indices and responses.
Calibration is :func:`dreamseed.cat.calibration.calibrate` (not re-exported here, because
``dreamseed.cat.calibrate`` is the command-line module of the same name).
"""

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
    "Prior",
    "Selection",
    "StepResult",
    "StoppingRule",
    "cat_step",
    "estimate",
    "estimate_eap",
    "estimate_map",
    "estimate_mle",
    "estimate_wle",
    "information",
    "information_peak",
    "log_likelihood",
    "make_params",
    "probability",
    "select_item",
    "should_stop",
    "test_information",
    "validate_params",
]
