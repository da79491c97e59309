"""Compute profiles, loaded from the runtime module shipped to MWAA.

``mwaa/analytical_platform/compute_profiles.py`` is the single source of truth:
the generated DAGs and the standard operator use it at run time, and the
validator uses it here, so a profile valid in a manifest is always one the
operator can run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "mwaa"
_MODULE_NAME = "_analytical_platform_compute_profiles"


def _load():
    if _MODULE_NAME in sys.modules:
        return sys.modules[_MODULE_NAME]
    spec = importlib.util.spec_from_file_location(
        _MODULE_NAME, RUNTIME_DIR / "analytical_platform" / "compute_profiles.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[_MODULE_NAME] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_profiles = _load()
ComputeProfile = _profiles.ComputeProfile
parse = _profiles.parse
names = _profiles.names
NODE_POOL_LABEL = _profiles.NODE_POOL_LABEL
GPU_RESOURCE = _profiles.GPU_RESOURCE
