"""Offline stand-in for the Deep Lake managed API: embedded PostgreSQL + pgvector, same REST routes.

Usage::

    async with LocalBackend(data_dir) as backend:
        app = create_app(backend)  # serve it, or call it in-process via httpx.ASGITransport(app=app)
        queries = in_process_queries(backend)  # the query route as a function: DeepLakeClient(query_handler=…)
        copies = in_process_copies(backend)  # and the copy route: DeepLakeClient(copy_handler=…)
"""

from ._app import Exposure, create_app, in_process_copies, in_process_queries
from ._backend import LocalBackend
from ._postgres import PostgresSetupError

__all__ = ["Exposure", "LocalBackend", "PostgresSetupError", "create_app", "in_process_copies", "in_process_queries"]
