"""Parser values read from library modules only when they are needed.

``tmeradiomics --help`` builds every sub-command's parser, so a command module
that imported the library at module level would load SimpleITK, pandas,
scikit-learn, Dask... for a help text. Command modules therefore import their
implementation inside ``run``; the few values their parsers need from the
library (a default phase, the recipe names) come through these two wrappers,
which import the module the first time the value is used: when the command's
own ``--help`` is formatted, when a given value is checked, or when ``main``
fills in the defaults of the command that runs (``resolve_defaults``).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Iterator, Mapping, Sequence, Set
from typing import Any

_PACKAGE = "TMERadiomicsLib"


def _lookup(module: str, path: str) -> Any:
    value: Any = importlib.import_module(module, _PACKAGE)
    for name in path.split("."):
        value = getattr(value, name)
    return value


class LazyDefault:
    """A default such as ``LazyDefault(".dce", "DEFAULT_PHASE")``.

    ``str()`` gives the value's text for ``%(default)s`` in help;
    ``resolve_defaults`` replaces it by the value itself after parsing.
    """

    def __init__(self, module: str, path: str) -> None:
        self.module, self.path = module, path

    def value(self) -> Any:
        return _lookup(self.module, self.path)

    def __str__(self) -> str:
        return str(self.value())


class LazyChoices(Sequence):
    """``choices=`` from a library collection, e.g. ``LazyChoices(".training", "RECIPES")``.

    A mapping's or set's keys are sorted; a sequence keeps its order. Always
    give the argument a ``metavar``: without one, ``add_argument`` formats the
    choices at once, which would import the module while the parser is built.
    ``%(choices)s`` in the help lists them when that help is shown.
    """

    def __init__(self, module: str, path: str) -> None:
        self.module, self.path = module, path

    def _values(self) -> list:
        values = _lookup(self.module, self.path)
        return sorted(values) if isinstance(values, (Mapping, Set)) else list(values)

    def __getitem__(self, index):  # type: ignore[override]
        return self._values()[index]

    def __len__(self) -> int:
        return len(self._values())

    def __iter__(self) -> Iterator:
        return iter(self._values())

    def __contains__(self, item: object) -> bool:
        return item in self._values()


def resolve_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Replace every ``LazyDefault`` left in the parsed arguments by its value.

    The names so filled are kept in ``args.defaulted``, so a command can tell
    an option the user gave from one left at its default (``given``).
    """
    defaulted = set()
    for name, value in list(vars(args).items()):
        if isinstance(value, LazyDefault):
            setattr(args, name, value.value())
            defaulted.add(name)
    args.defaulted = frozenset(defaulted)
    return args


def given(args: argparse.Namespace, name: str) -> bool:
    """Whether the user gave the option whose default is a ``LazyDefault``."""
    return name not in getattr(args, "defaulted", frozenset())


__all__: Sequence[str] = ("LazyChoices", "LazyDefault", "resolve_defaults")
