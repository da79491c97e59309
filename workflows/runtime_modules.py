"""Modules of the runtime package that the stack reads too, loaded from their files.

``mwaa/analytical_platform/`` ships to MWAA and imports only the standard library
and itself, so it is not importable from the stack; the few facts both sides need
live there once and are loaded here by path:

* :data:`compute_profiles` — the compute profiles (names, the default one, the
  node-pool label), read by the validator, the schema generator and the model;
* :data:`identity` — the service account and labels of a workflow's pods, read by
  :mod:`workflows.plan.naming` (the operator derives them at run time the same way).

This module imports nothing from ``workflows``, so :mod:`workflows.model` can use it
without an import cycle.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "mwaa"
RUNTIME_PACKAGE = "analytical_platform"


def _load(module: str) -> ModuleType:
    name = f"_{RUNTIME_PACKAGE}_{module}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, RUNTIME_DIR / RUNTIME_PACKAGE / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = loaded  # dataclasses need the module registered
    spec.loader.exec_module(loaded)  # type: ignore[union-attr]
    return loaded


compute_profiles = _load("compute_profiles")
identity = _load("identity")
