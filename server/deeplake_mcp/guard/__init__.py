"""The SQL guard: classify a statement, then let the access mode decide.

Stage one, :func:`classify`, is pure: it maps SQL text to a :class:`StatementClass`
(READ < WRITE < DESTRUCTIVE < NEVER) and names the construct that decided it. Stage two, a
:class:`Policy` built from ``--access``, turns that into a :class:`Verdict`::

    verdict = Policy(AccessMode.READ_ONLY).check("DELETE FROM docs")
    verdict.allowed  # False
    verdict.reason   # "DELETE is destructive; this server runs with --access read-only; ..."

Functions are reads only when the shipped catalogue (``catalog.tsv``, generated from PostgreSQL
18 and pgvector by ``scripts/gen_function_catalog.py``) knows them to be. The rules are in
shared/sql-guard-policy.md (section 2, policy v3, amends section 1).
"""

from ._calls import parse_read_functions
from ._classes import DEFAULT_ACCESS, AccessMode, Classification, StatementClass
from ._classify import classify
from ._cli import run_check_sql
from ._filter import check_filter
from ._policy import Policy, Verdict
from ._tql import HubSource, check_tql, hub_sources

__all__ = [
    "DEFAULT_ACCESS",
    "AccessMode",
    "Classification",
    "HubSource",
    "Policy",
    "StatementClass",
    "Verdict",
    "check_filter",
    "check_tql",
    "classify",
    "hub_sources",
    "parse_read_functions",
    "run_check_sql",
]
