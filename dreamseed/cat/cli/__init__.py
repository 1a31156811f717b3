"""The engine's command-line tools: ``python -m dreamseed.cat.cli.simulate`` and
``python -m dreamseed.cat.cli.calibrate``.

These modules only read arguments, call the engine and report; the files they read and write
are :mod:`dreamseed.cat.csvio` and :mod:`dreamseed.cat.polycsv`, the work is
:mod:`dreamseed.cat.simulation`, :mod:`dreamseed.cat.calibration` and
:mod:`dreamseed.cat.calibration_poly`. Bad input exits with status 2 and a message naming the
file, line and column.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..exceptions import CatError

EXIT_BAD_INPUT = 2


def run_or_report(work: Callable[[], object], *, out: str):
    """``work()``, or ``None`` after printing why the input or the output file is bad."""
    try:
        return work()
    except CatError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
    return None
