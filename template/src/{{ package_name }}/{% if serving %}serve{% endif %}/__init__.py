"""The REST prediction service: ``python -m <package>.serve`` (see ``__main__``).

``app`` builds the FastAPI application, ``model`` loads the model it serves (``fastpath``
calls it on arrays when that is exact, ``batching`` shares its calls between concurrent
requests), ``schemas`` derives the request and response bodies from the feature schema,
``metrics`` and ``limits`` are its Prometheus instruments and body-size cap, and ``export``
copies the champion model to a directory for images that must not depend on the tracking store.
"""
