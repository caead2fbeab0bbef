"""Random-forest estimators stored with skops and an explicit trusted-types list.

skops rebuilds an object from a schema instead of unpickling it; only types
in ``TRUSTED_TYPES`` may be instantiated. Anything else in the file makes the
bundle refused before it is loaded, so a bundle can never run code.
"""

from __future__ import annotations

import numpy as np
import skops.io as sio
from sklearn.ensemble import RandomForestClassifier

from ..errors import InputError

FILE_NAME = "forest.skops"
# Exactly the types a fitted RandomForestClassifier is made of.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.random.mtrand.RandomState",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
)


def forest_to_bytes(forest: RandomForestClassifier) -> bytes:
    return sio.dumps(forest)


def forest_from_bytes(data: bytes, n_features: int, source: str) -> RandomForestClassifier:
    """Load a forest, refusing types outside the trusted list and odd shapes."""
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as error:  # skops raises several types on corrupt archives
        raise InputError(f"forest file is not a skops archive: {error}", file=source) from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise InputError(f"forest file holds untrusted types {refused}; refusing to load it", file=source)
    forest = sio.loads(data, trusted=list(TRUSTED_TYPES))
    if not isinstance(forest, RandomForestClassifier):
        raise InputError("forest file does not hold a RandomForestClassifier", file=source)
    if forest.n_features_in_ != n_features or list(forest.classes_) != [0, 1]:
        raise InputError(
            "forest does not match the manifest (feature count or classes 0/1)", file=source
        )
    return forest


def forest_probability(forest: RandomForestClassifier, values: np.ndarray) -> np.ndarray:
    """Probability of the positive class (label 1)."""
    return forest.predict_proba(values)[:, 1]
