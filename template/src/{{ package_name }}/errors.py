"""The one exception the package raises on purpose.

An expected failure (a missing file, invalid data, no champion model) raises
:class:`StageError`; the command lines print its message without a traceback
(:func:`.cli.run_stage`). Anything else is a bug and keeps its traceback.
"""


class StageError(Exception):
    """An expected failure, reported to the user as is (one line, or one line per problem)."""
