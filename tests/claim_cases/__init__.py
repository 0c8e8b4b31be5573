"""Constructed results for every built-in claim, one module per study.

Each module names its study (``STUDY``) and gives ``CASES``: for each of the study's claim ids, a
function per verdict (``"PASS"``, ``"FAIL"``, ``"INCONCLUSIVE"``) that returns ``(config,
results)`` built from the study's own config and result classes, on which the claim must return
that verdict. ``tests/test_falsifiable.py`` checks the whole registry against them, so a claim
that cannot fail (or cannot pass, or is never undecided) fails the suite. Only the tests import
this package.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any

Case = Callable[[], tuple[Any, Mapping[Any, Any]]]


def all_cases() -> dict[tuple[str, str], dict[str, Case]]:
    """``{(study, claim id): {verdict: case}}`` over every module of this package."""
    found: dict[tuple[str, str], dict[str, Case]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for claim_id, cases in module.CASES.items():
            found[(module.STUDY, claim_id)] = cases
    return found
