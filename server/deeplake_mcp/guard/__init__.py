"""The SQL guard: classify a statement, then let the access mode decide.

Stage one, :func:`classify`, is pure: it maps SQL text to a :class:`StatementClass`
(READ < WRITE < DESTRUCTIVE < NEVER) and names the construct that decided it. Stage two, a
:class:`Policy` built from ``--access``, turns that into a :class:`Verdict`::

    verdict = Policy(AccessMode.READ_ONLY).check("DELETE FROM docs")
    verdict.allowed  # False
    verdict.reason   # "DELETE is destructive; this server runs with --access read-only; ..."

The rules are in shared/sql-guard-policy.md.
"""

from ._classes import AccessMode, Classification, StatementClass
from ._classify import classify
from ._cli import run_check_sql
from ._filter import check_filter
from ._policy import Policy, Verdict
from ._tql import HubSource, check_tql, hub_sources

__all__ = [
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
    "run_check_sql",
]
