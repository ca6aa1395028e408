"""The OpenAPI 3.0 document, generated from the model's feature schema.

The ``Row`` schema says exactly what :class:`~modelapi.validation.RowValidator` accepts (types,
allowed categories, nullability, string lengths, the float32 range), so a client generated from it
never sends a row the API refuses. OpenAPI 3.0 rather than 3.1 because the bundled Swagger UI
renders 3.0.
"""

from __future__ import annotations

from typing import Any

from .model import Feature, Model
from .validation import FLOAT32_MAX

ERROR_CODES = {
    400: "the body is empty",
    413: "the body is over 1 MiB, or the batch has more rows than MAX_BATCH",
    415: "the body is not JSON (or is sent with a non-JSON Content-Type)",
    422: "a row is invalid: a missing, unknown or null field, a wrong type, an unknown category, "
    "a non-finite number",
}


def build_openapi(model: Model, max_batch: int, api_version: str) -> dict[str, Any]:
    """The whole document for ``model``; ``max_batch`` bounds the batch request."""
    example = model.example_row()
    labels = list(model.labels)
    probabilities = {
        "type": "object",
        "description": "The probability of each label; they add up to 1.",
        "properties": {label: {"type": "number", "minimum": 0, "maximum": 1} for label in labels},
        "required": labels,
        "additionalProperties": False,
    }
    scored = {
        "label": {"type": "string", "enum": labels, "description": "The most likely label."},
        "probabilities": {"$ref": "#/components/schemas/Probabilities"},
    }
    identity = {
        "model": {"type": "string", "example": model.name},
        "version": {"type": "string", "example": model.version},
    }
    schemas = {
        "Row": {
            "type": "object",
            "description": f"One {model.name} case to score: every feature, nothing else.",
            "properties": {f.name: _feature_schema(f) for f in model.features},
            "required": [f.name for f in model.features],
            "additionalProperties": False,
            "example": example,
        },
        "Batch": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Row"},
            "minItems": 1,
            "maxItems": max_batch,
        },
        "Probabilities": probabilities,
        "Prediction": {
            "type": "object",
            "properties": identity | scored,
            "required": ["model", "version", "label", "probabilities"],
        },
        "ScoredRow": {
            "type": "object",
            "properties": scored,
            "required": ["label", "probabilities"],
        },
        "BatchPrediction": {
            "type": "object",
            "properties": identity
            | {
                "predictions": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/ScoredRow"},
                    "description": "One entry per row, in the order sent.",
                }
            },
            "required": ["model", "version", "predictions"],
        },
        "Error": {
            "type": "object",
            "properties": {
                "message": {"type": "string", "description": "The first problem, in words."},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {
                                "type": "string",
                                "description": "The feature at fault, or 'body'.",
                            },
                            "row": {"type": "integer", "description": "Index in a batch."},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "allowed": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["field", "code", "message"],
                    },
                },
            },
            "required": ["message", "errors"],
        },
        "Params": {
            "type": "object",
            "properties": {
                "model": {"type": "string"},
                "target": {"type": "string"},
                "labels": {"type": "array", "items": {"type": "string"}},
                "max_batch": {"type": "integer"},
                "features": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["model", "labels", "features", "max_batch"],
        },
        "Info": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "api_version": {"type": "string"},
                "model": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "version": {"type": "string"},
                        "tags": {"type": "object"},
                        "metrics": {"type": "object"},
                    },
                    "required": ["name", "version", "tags", "metrics"],
                },
            },
            "required": ["status", "model"],
        },
        "Status": {
            "type": "object",
            "properties": {"status": {"type": "string"}},
            "required": ["status"],
        },
    }
    batch_example = [example, example]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{model.name} model API",
            "version": api_version,
            "description": (
                f"Predicts {model.target or 'the target'} ({', '.join(labels)}) with model "
                f"{model.name} version {model.version}. Send one row as a JSON object, or up to "
                f"{max_batch} rows as an array. Every error names the field (and the row)."
            ),
        },
        "paths": {
            "/api/predict": {
                "post": {
                    "summary": "Score one row or a batch of rows",
                    "operationId": "predict",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Row"},
                                        {"$ref": "#/components/schemas/Batch"},
                                    ]
                                },
                                "examples": {
                                    "one": {"summary": "One row", "value": example},
                                    "batch": {"summary": "A batch", "value": batch_example},
                                },
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The probabilities of each label.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "oneOf": [
                                            {"$ref": "#/components/schemas/Prediction"},
                                            {"$ref": "#/components/schemas/BatchPrediction"},
                                        ]
                                    }
                                }
                            },
                        },
                        **{
                            str(status): _error_response(text)
                            for status, text in ERROR_CODES.items()
                        },
                    },
                }
            },
            "/api/predict/params": _get(
                "The features the model takes: type, nullability, allowed values",
                "params",
                "Params",
            ),
            "/api/info": _get(
                "Status and model metadata (name, version, tags, metrics)", "info", "Info"
            ),
            "/healthz": _get("Liveness: the process answers", "healthz", "Status"),
            "/readyz": _get(
                "Readiness: the model scores its example row",
                "readyz",
                "Status",
                {"503": {"description": "The model does not score.", "content": _json("Status")}},
            ),
        },
        "components": {"schemas": schemas},
    }


def _feature_schema(feature: Feature) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": feature.description or feature.name}
    if feature.numeric:
        schema["type"] = feature.type
        # What the API accepts is float32's range; the range seen in training is a hint only.
        schema["minimum"], schema["maximum"] = -FLOAT32_MAX, FLOAT32_MAX
        if feature.min is not None and feature.max is not None:
            schema["description"] += f" (seen in training: {feature.min} to {feature.max})"
    else:
        schema["type"] = "string"
        if feature.categories is not None:
            schema["enum"] = [*feature.categories, *([None] if feature.nullable else [])]
        if feature.max_length is not None:
            schema["maxLength"] = feature.max_length
    if feature.nullable:
        schema["nullable"] = True
    schema["example"] = feature.example_value()
    return schema


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _error_response(text: str) -> dict[str, Any]:
    return {"description": text[0].upper() + text[1:] + ".", "content": _json("Error")}


def _get(summary: str, operation: str, schema: str, extra: dict | None = None) -> dict:
    responses = {"200": {"description": "OK", "content": _json(schema)}} | (extra or {})
    return {"get": {"summary": summary, "operationId": operation, "responses": responses}}
