"""Offline stand-in for the Deep Lake managed API: embedded PostgreSQL + pgvector, same REST routes.

Usage::

    async with LocalBackend(data_dir) as backend:
        app = create_app(backend)  # serve it, or call it in-process via httpx.ASGITransport(app=app)
"""

from ._app import Exposure, create_app
from ._backend import LocalBackend
from ._postgres import PostgresSetupError

__all__ = ["Exposure", "LocalBackend", "PostgresSetupError", "create_app"]
