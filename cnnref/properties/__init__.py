"""The former name of ``cnnref.checks``: ``cnnref.properties`` and each of its modules
(``cnnref.properties.base``, ``.compare``, ``.contract``, ``.hints``, ``.standard``, ``.suggestions``) import
as the same module objects as there."""

import importlib
import sys

from .. import checks

for _name in ("base", "compare", "contract", "hints", "precision_hints", "standard", "suggestions"):
    _module = importlib.import_module(f"{checks.__name__}.{_name}")
    sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module


def __getattr__(name: str):
    return getattr(checks, name)
