"""The model API: serves predictions from a model directory written by ``fetch-model.py``.

The directory holds ``model.onnx`` (the whole scikit-learn pipeline, converted with skl2onnx),
``schema.json`` (features, their types and allowed values, output labels), ``metrics.json`` and,
when fetched from a registry, ``metadata.json`` (name, version, tags, metrics). Everything the
API checks, documents and answers is generated from ``schema.json``; nothing here knows about a
particular model. The package imports nothing from ``bootstrap`` so the image stays small.
"""

__version__ = "2.0.0"
