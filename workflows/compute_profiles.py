"""``mwaa/analytical_platform/compute_profiles.py``, loaded from its file as :data:`compute_profiles`.

That file is the one home of the compute profiles (their names, the default one, the
node-pool label): it ships to MWAA with the runtime package and is read here by the
validator, the schema generator and the model. It is loaded by path because the
runtime package is not importable from the stack. This module imports nothing from
``workflows`` so that :mod:`workflows.model` can use it without an import cycle;
:mod:`workflows.dags.runtime` re-exports it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PATH = Path(__file__).resolve().parent.parent / "mwaa" / "analytical_platform" / "compute_profiles.py"
_MODULE_NAME = "_analytical_platform_compute_profiles"


def _load() -> ModuleType:
    if _MODULE_NAME in sys.modules:
        return sys.modules[_MODULE_NAME]
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, PATH)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[_MODULE_NAME] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


compute_profiles = _load()
