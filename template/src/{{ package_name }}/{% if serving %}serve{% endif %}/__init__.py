"""The REST prediction service: ``python -m <package>.serve`` (see ``__main__``).

``app`` builds the FastAPI application, ``model`` loads the model it serves (``onnx_model``
scores an ONNX export with ONNX Runtime; otherwise ``fastpath`` calls the scikit-learn pipeline
on arrays when that is exact; ``batching`` shares calls between concurrent requests),
``payloads`` holds the request and response bodies (``core/messages.py``), ``telemetry``
and ``limits`` are its Prometheus instruments and body-size cap, and ``export`` copies the
champion model to a directory for images that must not depend on the tracking store, with
its ONNX conversion when that passes the exactness gate of ``onnx_export``.
"""
