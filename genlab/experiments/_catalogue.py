"""Importing this module registers every experiment: one subpackage per lecture, in the course's order.

Each lecture package (``measuring``, ``overfitting``, ``expressivity``, ``practice``, ``d2l``)
declares its ``TITLE`` and ``ORDER``; every module in it registers its experiments, each with a
``section`` (the report's heading) and an ``order`` inside the lecture. Adding an experiment is
adding one module: nothing else lists it.
"""

from __future__ import annotations

import importlib
import pkgutil

LECTURE_PACKAGES = ("measuring", "overfitting", "expressivity", "practice", "d2l")


def _load() -> dict[str, object]:
    lectures = {}
    for name in LECTURE_PACKAGES:
        package = importlib.import_module(f"genlab.experiments.{name}")
        lectures[name] = package
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("_") and not info.ispkg:
                importlib.import_module(f"{package.__name__}.{info.name}")
    return lectures


LECTURES = _load()  #: package name -> lecture package (TITLE, ORDER)
