"""The decision rule: a probability becomes a class at the threshold (``evaluate.threshold``).

One definition for the evaluation, batch scoring and the service, so that they can never
disagree on a borderline patient. NumPy only: the service imports it without the training stack.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The threshold when params.yaml's evaluate.threshold is left out.
DEFAULT_THRESHOLD = 0.5


def classify(probability: Any, threshold: float) -> np.ndarray:
    """Predicted class: 1 (heart disease) where the probability reaches ``threshold``.

    ``probability`` is anything NumPy reads as numbers: an array, a list, a pandas Series.
    """
    return (np.asarray(probability, dtype=float) >= threshold).astype(int)
