"""Function calls and operators (policy 2.1): reads only when known to be.

A call is checked against the W/D/X lists first; then a call into an internal schema is D; then
the operator's extra read functions and the catalogue decide: immutable, stable and the harmless
volatile functions are reads, everything else (volatile, unknown, user-defined) is D.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ._catalog import catalog
from ._classes import Finding, StatementClass
from ._functions import HARMLESS_VOLATILE, INTERNAL_SCHEMAS, listed

__all__ = [
    "READ_FUNCTIONS_ENV",
    "call_finding",
    "operator_finding",
    "parse_read_functions",
    "reference_finding",
    "sample_method_finding",
]

_D, _X = StatementClass.DESTRUCTIVE, StatementClass.NEVER

READ_FUNCTIONS_ENV = "DEEPLAKE_MCP_READ_FUNCTIONS"
"""The setting that lets an operator declare known-safe functions reads (policy 2.1.8)."""

_ENTRY = re.compile(r"(?:[a-z_][a-z0-9_$]*\.)?[a-z_][a-z0-9_$]*")


def call_finding(names: Sequence[str], arity: int | None, reads: frozenset[str]) -> Finding | None:
    """The class of a call of ``names`` (schema-qualified or not) with ``arity`` arguments.

    ``None`` means a read; ``arity`` None means the number of arguments is unknown, and every
    overload counts. ``reads`` holds the extra read functions (``name`` or ``schema.name``).
    """
    name, schema = names[-1], (names[-2] if len(names) > 1 else None)
    display = f"function {_display(names, arity)}"
    entry = listed(name.lower(), arity)
    if entry is not None:
        return _finding(entry.cls, display, entry.why, entry.hint)
    if schema is not None and schema.lower() in INTERNAL_SCHEMAS:
        return _finding(_D, display, f"a helper in the server's internal schema {schema}")
    if name in reads or f"{schema}.{name}" in reads:
        return None
    known = catalog()
    volatility = known.volatility(schema, name, arity)
    if volatility in ("i", "s"):
        return None
    if volatility == "v":
        if name in HARMLESS_VOLATILE and schema in (None, "pg_catalog"):
            return None
        return _finding(_D, display, "volatile: it may change state", _widen(names))
    if arity == 1 and known.is_type(schema, name):
        return None  # a function-style cast: int8(x), jsonb('{}')
    helper = known.internal.get(name) if schema is None else None
    if helper is not None:
        return _finding(_D, display, f"an internal helper of this server ({helper}.{name})")
    if known.has_function(schema, name):
        why = f"no built-in {name} takes {_arguments(arity)}, so it may be user-defined"
    else:
        why = "unknown or user-defined: the guard cannot see what it does"
    return _finding(_D, display, why, _widen(names))


def operator_finding(names: Sequence[str], *, prefix: bool) -> Finding | None:
    """The class of an operator: a read when the catalogue knows it, else D (policy 2.1.7)."""
    name, schema = names[-1], (names[-2] if len(names) > 1 else None)
    display = f"OPERATOR({'.'.join(names)})" if schema is not None else f"operator {name}"
    if schema is not None and schema.lower() in INTERNAL_SCHEMAS:
        return _finding(_D, display, f"in the server's internal schema {schema}")
    volatility = catalog().operator_volatility(schema, name, prefix=prefix)
    if volatility in ("i", "s"):
        return None
    return _finding(_D, display, "volatile" if volatility == "v" else "unknown or user-defined")


def sample_method_finding(names: Sequence[str]) -> Finding | None:
    """The class of a TABLESAMPLE method: a read for the built-in ones, else D."""
    if len(names) == 1 and names[0] in catalog().sample_methods:
        return None
    return _finding(_D, f"TABLESAMPLE method {'.'.join(names)}", "unknown or user-defined")


def reference_finding(names: Sequence[str]) -> Finding | None:
    """X when DDL names a never-allowed function (a trigger's, an operator's, an aggregate's)."""
    entry = listed(names[-1].lower(), None)
    if entry is None or entry.cls is not _X:
        return None
    return _finding(_X, f"function {'.'.join(names)}", entry.why, entry.hint)


def parse_read_functions(value: str | Iterable[str]) -> frozenset[str]:
    """Normalise the extra read functions (``name`` or ``schema.name``, comma-separated).

    Raises ValueError for an entry that is malformed, in an internal schema, on a W/D/X list,
    or an internal helper of this server: those can never be declared reads.
    """
    entries = value.split(",") if isinstance(value, str) else value
    result: set[str] = set()
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        problem = _read_function_problem(entry)
        if problem:
            raise ValueError(f"{raw.strip()!r} cannot be declared a read function: {problem}")
        result.add(entry)
    return frozenset(result)


def _read_function_problem(entry: str) -> str:
    if not _ENTRY.fullmatch(entry):
        return "write a function name, optionally schema-qualified (my_schema.my_function)"
    schema, _, name = entry.rpartition(".")
    if schema in INTERNAL_SCHEMAS:
        return f"{schema} is the server's internal schema"
    entry_listed = listed(name, None)
    if entry_listed is not None:
        return f"it is {entry_listed.why}"
    known = catalog()
    if not schema and name in known.internal and known.volatility(None, name, None) not in ("i", "s"):
        return f"it is an internal helper of this server ({known.internal[name]}.{name})"
    return ""


def _finding(cls: StatementClass, display: str, why: str, hint: str = "") -> Finding:
    reason = f"{display} ({why})"
    return Finding(cls, reason, reason, hint)


def _widen(names: Sequence[str]) -> str:
    return f"allow a known-safe function as a read with {READ_FUNCTIONS_ENV}={'.'.join(names)}"


def _display(names: Sequence[str], arity: int | None) -> str:
    return f"{'.'.join(names)}({'...' if arity is None else _arguments(arity)})"


def _arguments(arity: int | None) -> str:
    return "any arguments" if arity is None else f"{arity} argument{'' if arity == 1 else 's'}"
