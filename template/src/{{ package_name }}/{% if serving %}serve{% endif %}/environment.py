"""The service's settings from the environment (docs/serving.md lists them), checked at start.

An unset or blank variable takes its default; a bad value stops the command in one line that
names the variable, e.g. ``SERVE_MAX_RECORDS must be an integer of at least 1, not '0'`` or
``CHALLENGER_MODE must be off, shadow or ab, not 'x'`` or ``SERVE_DOCS must be true or false,
not 'yes please'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import StageError
from .app import DEFAULT_MAX_RECORDS
from .challenger import DEFAULT_SHARE
from .limits import DEFAULT_MAX_BODY_BYTES
from .prediction_log import (
    DEFAULT_MAX_AGE_SECONDS,
    DEFAULT_MAX_BYTES,
    DEFAULT_QUEUE,
    LogSettings,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _digits(value: Any) -> Any:
    """Only digits make a number here (no sign, exponent or fraction)."""
    if isinstance(value, str) and not value.isdigit():
        raise ValueError("not digits")
    return value


def _switch(value: Any) -> Any:
    """``true`` or ``false`` (any case), nothing else: a typo must not turn a switch off."""
    if isinstance(value, str) and value.lower() not in {"true", "false"}:
        raise ValueError("not true or false")
    return value


Count = Annotated[int, BeforeValidator(_digits)]
Switch = Annotated[bool, BeforeValidator(_switch)]
Mode = Literal["off", "shadow", "ab"]
MAX_PORT = 65535
# What a bad value of a setting that is not a count must be, in words.
MUST_BE = {
    "CHALLENGER_MODE": "off, shadow or ab",
    "CHALLENGER_SHARE": "a number between 0 and 1",
    "METRICS_PORT": f"an integer of 1 to {MAX_PORT}",
    "SERVE_DOCS": "true or false",
}


class ServiceSettings(BaseSettings):
    """``SERVE_*``, ``METRICS_PORT``, ``PREDICTION_LOG_*`` and ``CHALLENGER_*``; frozen once
    read."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True)

    host: str = Field(default=DEFAULT_HOST, validation_alias="SERVE_HOST")
    port: Count = Field(default=DEFAULT_PORT, ge=0, validation_alias="SERVE_PORT")
    # Unset: /metrics on the main port. Set: /metrics only there, on a listener of its own.
    metrics_port: Count | None = Field(
        default=None, ge=1, le=MAX_PORT, validation_alias="METRICS_PORT"
    )
    # false: no /docs, /redoc or /openapi.json (production, behind an ingress).
    docs: Switch = Field(default=True, validation_alias="SERVE_DOCS")
    max_records: Count = Field(
        default=DEFAULT_MAX_RECORDS, ge=1, validation_alias="SERVE_MAX_RECORDS"
    )
    max_body_bytes: Count = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=1, validation_alias="SERVE_MAX_BODY_BYTES"
    )
    log_directory: Path | None = Field(default=None, validation_alias="PREDICTION_LOG_DIR")
    log_max_bytes: Count = Field(
        default=DEFAULT_MAX_BYTES, ge=1, validation_alias="PREDICTION_LOG_MAX_BYTES"
    )
    log_max_age_seconds: Count = Field(
        default=DEFAULT_MAX_AGE_SECONDS, ge=1, validation_alias="PREDICTION_LOG_MAX_AGE_SECONDS"
    )
    log_queue_size: Count = Field(
        default=DEFAULT_QUEUE, ge=1, validation_alias="PREDICTION_LOG_QUEUE"
    )
    challenger_mode: Mode = Field(default="off", validation_alias="CHALLENGER_MODE")
    challenger_share: float = Field(
        default=DEFAULT_SHARE, gt=0, lt=1, allow_inf_nan=False, validation_alias="CHALLENGER_SHARE"
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: Any) -> Any:
        """Surrounding spaces are dropped, and a blank value is no value."""
        if not isinstance(values, Mapping):
            return values
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
        return {k: v for k, v in stripped.items() if v != ""}

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """The settings of the environment (``environ`` instead of ``os.environ`` if given);
        a bad value is a :class:`StageError` naming its variable."""
        try:
            settings = cls() if environ is None else cls.model_validate(dict(environ))
        except ValidationError as error:
            problem = error.errors()[0]
            name = str(problem["loc"][0])
            must = cls._must_be(name)
            raise StageError(f"{name} must be {must}, not {problem['input']!r}") from None
        if settings.challenger_mode == "shadow" and settings.log_directory is None:
            raise StageError(
                "CHALLENGER_MODE=shadow needs PREDICTION_LOG_DIR: the challenger's answers are "
                "written to the prediction log"
            )
        if settings.metrics_port is not None and settings.metrics_port == settings.port:
            raise StageError(f"METRICS_PORT must differ from SERVE_PORT ({settings.port})")
        return settings

    @classmethod
    def _must_be(cls, name: str) -> str:
        """What the variable ``name`` must hold, in words."""
        if name in MUST_BE:
            return MUST_BE[name]
        field = next(f for f in cls.model_fields.values() if f.validation_alias == name)
        minimum = next(m.ge for m in field.metadata if hasattr(m, "ge"))
        return f"an integer of at least {minimum}"

    @property
    def prediction_log(self) -> LogSettings | None:
        """Where and how to log the predictions; None (no log) without ``PREDICTION_LOG_DIR``."""
        if self.log_directory is None:
            return None
        return LogSettings(
            directory=self.log_directory.expanduser().resolve(),
            max_bytes=self.log_max_bytes,
            max_age_seconds=self.log_max_age_seconds,
            queue_size=self.log_queue_size,
        )
