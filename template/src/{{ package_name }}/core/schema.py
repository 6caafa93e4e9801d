"""The data's columns: names, clinically plausible ranges and categorical codes.

Ranges are a wider net than the data set's own extremes, and the categorical columns take the
UCI codes only (see data/README.md for their meaning). Every layer reads these; the pandera
schemas built from them live in :mod:`.checks` (pandera is imported only where data is checked).
"""

ID = "id"
TARGET = "target"
RAW_TARGET = "num"
NUMERIC_RANGES: dict[str, tuple[float, float]] = {
    "age": (0, 120),  # years
    "trestbps": (50, 250),  # resting blood pressure, mm Hg
    "chol": (50, 700),  # serum cholesterol, mg/dl
    "thalach": (40, 250),  # maximum heart rate achieved, beats per minute
    "oldpeak": (-5, 10),  # ST depression induced by exercise relative to rest, mm
}
CATEGORY_CODES: dict[str, tuple[int, ...]] = {
    "sex": (0, 1),
    "cp": (1, 2, 3, 4),
    "fbs": (0, 1),
    "restecg": (0, 1, 2),
    "exang": (0, 1),
    "slope": (1, 2, 3),
    "ca": (0, 1, 2, 3),
    "thal": (3, 6, 7),
}
NUMERIC_FEATURES = tuple(NUMERIC_RANGES)
CATEGORICAL_FEATURES = tuple(CATEGORY_CODES)
# The raw file's column order.
FEATURES = (
    "age",
    "sex",
    "cp",
    "trestbps",
    "chol",
    "fbs",
    "restecg",
    "thalach",
    "exang",
    "oldpeak",
    "slope",
    "ca",
    "thal",
)
RAW_COLUMNS = (*FEATURES, RAW_TARGET)
