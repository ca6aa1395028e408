"""Request checking generated from the feature schema: JSON in, ONNX feature columns out.

Each feature gets a small converter chosen by its declared type, so adding a feature to
``schema.json`` needs no code here. Every problem becomes an error entry naming the field (and the
row, in a batch); the caller answers them with a 4xx, so no input reaches the model unchecked and
none can make the API fail with a 5xx.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .model import Feature

FLOAT32_MAX = float(np.finfo(np.float32).max)
MAX_ERRORS = 50
# What a null string or category is fed to the model as (the training pipeline's missing marker).
MISSING_STRING = ""

Converter = Callable[[Any], Any]


class InputError(Exception):
    """A request the API refuses: an HTTP status and one entry per problem found."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"])
        self.status = status
        self.errors = errors


class _Bad(Exception):
    """One value failed its feature's check (internal: becomes an error entry)."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def body_error(status: int, code: str, message: str) -> InputError:
    """An error about the request as a whole; its field is ``body``."""
    return InputError(status, [{"field": "body", "code": code, "message": message}])


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class RowValidator:
    """Turns a parsed JSON body (one object or a list of them) into feature columns."""

    def __init__(self, features: Sequence[Feature], max_batch: int) -> None:
        self.features = tuple(features)
        self.max_batch = max_batch
        self.names = frozenset(f.name for f in features)
        self._converters = tuple((f.name, _converter(f)) for f in features)
        self._dtypes = {f.name: np.float32 if f.numeric else object for f in features}

    def columns(self, payload: Any) -> tuple[dict[str, np.ndarray], bool]:
        """Feature columns ``[n_rows, 1]`` and whether the body was a batch (a list).

        Raises :class:`InputError` listing up to ``MAX_ERRORS`` problems.
        """
        if isinstance(payload, dict):
            rows, batch = [payload], False
        elif isinstance(payload, list):
            if not payload:
                raise body_error(422, "empty_batch", "the batch is empty: send at least one row")
            if len(payload) > self.max_batch:
                raise body_error(
                    413,
                    "too_many_rows",
                    f"the batch has {len(payload)} rows, over the limit of {self.max_batch} "
                    "(MAX_BATCH): split it into smaller requests",
                )
            rows, batch = payload, True
        else:
            raise body_error(
                422,
                "wrong_type",
                f"expected a JSON object (one row) or an array of objects (a batch), "
                f"got {json_type(payload)}",
            )
        values: dict[str, list[Any]] = {name: [] for name, _ in self._converters}
        errors: list[dict[str, Any]] = []
        for index, row in enumerate(rows):
            if len(errors) >= MAX_ERRORS:
                break
            where = {"row": index} if batch else {}
            if not isinstance(row, dict):
                errors.append(
                    {
                        "field": "body",
                        **where,
                        "code": "wrong_type",
                        "message": f"row {index}: expected an object, got {json_type(row)}",
                    }
                )
                continue
            if row.keys() != self.names:
                errors.extend(self._key_errors(row, where))
            for name, convert in self._converters:
                if name not in row:
                    continue
                try:
                    values[name].append(convert(row[name]))
                except _Bad as bad:
                    errors.append(
                        {"field": name, **where, "code": bad.code, "message": bad.message}
                        | bad.extra
                    )
        if errors:
            raise InputError(422, errors[:MAX_ERRORS])
        return {
            name: np.array(column, dtype=self._dtypes[name]).reshape(-1, 1)
            for name, column in values.items()
        }, batch

    def _key_errors(self, row: dict, where: dict[str, int]) -> list[dict[str, Any]]:
        errors = [
            {
                "field": name,
                **where,
                "code": "missing_field",
                "message": f"{name} is required",
            }
            for name in sorted(self.names - row.keys())
        ]
        errors += [
            {
                "field": str(name),
                **where,
                "code": "unknown_field",
                "message": f"{name} is not a feature of this model; the features are "
                f"{', '.join(sorted(self.names))}",
            }
            for name in sorted(row.keys() - self.names)
        ]
        return errors


def _converter(feature: Feature) -> Converter:
    """The check-and-convert function for one feature, chosen by its declared type."""
    name, nullable = feature.name, feature.nullable

    def null() -> Any:
        if not nullable:
            raise _Bad("null_not_allowed", f"{name} cannot be null")
        return math.nan if feature.numeric else MISSING_STRING

    def wrong(value: Any, expected: str) -> _Bad:
        return _Bad("wrong_type", f"{name}: expected {expected}, got {json_type(value)}")

    def finite(value: int | float) -> int | float:
        if not abs(value) <= FLOAT32_MAX:  # also true for NaN, which compares false
            if isinstance(value, float) and not math.isfinite(value):
                raise _Bad("not_finite", f"{name}: {value} is not a finite number")
            raise _Bad("out_of_range", f"{name}: {value} is beyond ±{FLOAT32_MAX:.4g}")
        return value

    if feature.type == "number":

        def convert(value: Any) -> Any:
            kind = type(value)
            if kind is float or kind is int:
                return finite(value)
            if value is None:
                return null()
            raise wrong(value, "a number")

    elif feature.type == "integer":

        def convert(value: Any) -> Any:
            kind = type(value)
            if kind is int:
                return finite(value)
            if kind is float:
                if finite(value).is_integer():
                    return value
                raise _Bad("wrong_type", f"{name}: expected a whole number, got {value}")
            if value is None:
                return null()
            raise wrong(value, "a whole number")

    elif feature.type == "category":
        allowed = frozenset(feature.categories or ())
        listed = list(feature.categories or ())

        def convert(value: Any) -> Any:
            if type(value) is str:
                if value in allowed:
                    return value
                raise _Bad(
                    "unknown_category",
                    f"{name}: {value!r} is not an allowed value; use one of {', '.join(listed)}",
                    allowed=listed,
                )
            if value is None:
                return null()
            raise wrong(value, f"one of {', '.join(listed)}")

    else:
        max_length = feature.max_length

        def convert(value: Any) -> Any:
            if type(value) is str:
                if max_length is not None and len(value) > max_length:
                    raise _Bad(
                        "too_long",
                        f"{name}: {len(value)} characters, over the limit of {max_length}",
                    )
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise _Bad("wrong_type", f"{name}: not valid Unicode text") from None
                return value
            if value is None:
                return null()
            raise wrong(value, "a string")

    return convert
