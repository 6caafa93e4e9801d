"""A pytest plugin (``-p tests.preload``): the heavy libraries, imported before coverage starts.

pytest-cov starts measuring before ``conftest.py`` is imported, and whatever is imported while
it measures runs under its tracer: MLflow, scikit-learn and pandas then take seconds longer to
import. Plugins named with ``-p`` load earlier, so they are imported here, untraced. The
project's own modules are not imported here: coverage measures them as before.
"""

import importlib
import importlib.util

HEAVY = (
    "pandas",
    "pandera.pandas",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "mlflow",
    "mlflow.sklearn",
    "mlflow.store.tracking.sqlalchemy_store",
    "skops.io",
    "fastapi.testclient",  # with the service only
)

for name in HEAVY:
    if importlib.util.find_spec(name.partition(".")[0]) is not None:
        importlib.import_module(name)
