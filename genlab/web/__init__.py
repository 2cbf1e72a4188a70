"""The web explorer: the lectures' interactive demos and a browser for stored runs.

``genlab serve`` runs :func:`create_app` under uvicorn on 127.0.0.1. The demos' maths is in
plain functions (importable without FastAPI) so tests and benchmarks call it directly.
"""

from genlab.web._demos import backprop_trace, gradient_flow, init_explorer, optimizer_path
from genlab.web._training import TrainSettings, training_state


def create_app(*args, **kwargs):
    """Build the FastAPI app (see :func:`genlab.web._app.create_app`); needs the ``web`` extra."""
    from genlab.web._app import create_app as _create

    return _create(*args, **kwargs)


__all__ = ["create_app", "init_explorer", "gradient_flow", "optimizer_path", "backprop_trace",
           "TrainSettings", "training_state"]
