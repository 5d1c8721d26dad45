"""``compile_sql(sql, params) -> Plan``: what PostgreSQL runs for one statement sent to the local API.

The statement is parsed once (pglast: PostgreSQL's own parser) and the Deep Lake passes run over the
compiler's own tree, in order: a `CREATE INDEX … USING deeplake_index` becomes a stand-in
(_sqlcompat), `EMBEDDING(n)` types lose their modifier, an unqualified `pg_indexes` means Deep Lake's
view of it, text and hybrid `<#>` become BM25 queries (_search), and a ranking SELECT is marked for
the vector index (_ann, also inside EXPLAIN and the `query` tool's LIMIT wrapper). When no pass
changes anything the statement runs exactly as sent; otherwise the rewritten tree is rendered.

It fails closed: text that does not parse, several statements, COPY over the API's connection,
transaction control (the API owns the transaction), and a pass that cannot handle a statement are each
a clear QueryError, never a reason to run the text as
it came. Query vectors written inline (`<#> ARRAY[…]`, also after `<=>` and `<->`) become params before
parsing (deeplake_mcp.vector_text), since parsing and rendering hundreds of numbers costs milliseconds.

A param that is a list of numbers and appears only as `$n::float4[]` (as `semantic_search` sends its query
vector) goes as binary float4[] (``Plan.bound_params``): writing and parsing 384 numbers as text costs more
than the search's round trip.

Plans are cached by that shorter text and the params (an LRU of CACHE_SIZE): the same search with
another query vector compiles once. A vector param (array text of numbers, or a list of numbers) can
change a plan only by its length and by being all zeros (both part of the key), or when a WHERE
condition uses it (such plans are not cached).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import cast

from pglast import ast, parse_sql
from pglast.parser import ParseError

from deeplake_mcp.cache import LRUCache
from deeplake_mcp.statements import split_tag
from deeplake_mcp.vector_text import is_vector_text, lift, vector_shape

from ._ann import VectorSearch, plan_vector_search
from ._errors import LocalAPIError, QueryError
from ._search import rewrite_search
from ._sqlcompat import DeeplakeIndex, deeplake_index, drop_embedding_typmods, point_pg_indexes
from ._tree import render, walk
from ._values import JSON, Param, is_vector, packed_float4

__all__ = ["CACHE_SIZE", "Plan", "compile_sql"]

log = logging.getLogger(__name__)

_AT_INDEX = re.compile(r", at index \d+$")
_SCALARS = (str, int, float, Decimal, bool, type(None))
_VECTOR = "vector"
_FLOAT4 = (("float4",), ("pg_catalog", "float4"))  # `real` parses as pg_catalog.float4


CACHE_SIZE = 256
MAX_CACHED_TEXT = 8192


@dataclass(frozen=True)
class Plan:
    """What to run for one statement: the SQL and its params, and what the statement is."""

    sql: str
    params: list[JSON]
    index: DeeplakeIndex | None = None
    """A deeplake_index to create: ``sql`` is its stand-in."""
    search: VectorSearch | None = field(default=None, compare=False)
    """A ranking a vector index can answer: ``sql`` is the statement as written (for when none can)."""
    float4_params: frozenset[int] = frozenset()
    """Positions of the params that are lists of numbers the statement only uses as `$n::float4[]`."""

    @property
    def has_vector_params(self) -> bool:
        """Whether a param is a vector (a list of numbers, or vector text): a query vector, maybe read by every row."""
        return any(is_vector(value) or is_vector_text(value) for value in self.params)

    def bound_params(self) -> list[Param]:
        """The params as sent: those in ``float4_params`` as binary float4[] (as text when they cannot be)."""
        if not self.float4_params:
            return list(self.params)
        return [self._bound(i, value) for i, value in enumerate(self.params)]

    def _bound(self, position: int, value: JSON) -> Param:
        if position not in self.float4_params or not isinstance(value, list):  # vector text: as it is
            return value
        # a list of numbers: the plan was made, or found by its params' keys, for one there (_param_keys)
        encoded = packed_float4(cast("list[int | float | Decimal]", value))
        return value if encoded is None else encoded


_cache: LRUCache[Hashable, Plan] = LRUCache(CACHE_SIZE)


def compile_sql(sql: str, params: Sequence[JSON] = ()) -> Plan:
    """Compile one statement (see the module docstring); QueryError when it cannot run here.

    A SQLCommenter tag at the end (the server's, new on every call) is set aside while compiling, so
    the cache still serves the statement, and goes back onto what runs.
    """
    statement, tag = split_tag(sql)
    lifted = lift(statement, len(params))
    if lifted is None:
        plan = _compile(statement, list(params), len(params))
    else:
        plan = _compile(lifted.text, [*params, *lifted.vectors], len(params))
    return replace(plan, sql=plan.sql + tag) if tag else plan


def _compile(text: str, values: list[JSON], lifted: int) -> Plan:
    """The plan of ``text`` with ``values`` as its params (those from ``lifted`` on: lifted vectors), cached
    when that is safe (see the module docstring)."""
    keys = _param_keys(values, lifted) if len(text) <= MAX_CACHED_TEXT else None
    key = (text, keys) if keys is not None else None
    cached = _cache.get(key) if key is not None else None
    if cached is not None:
        return replace(cached, params=[*values, *cached.params[len(values) :]])
    root = _one_statement(text)
    try:
        plan = _plan(text, root, values)
    except LocalAPIError:
        raise
    except Exception as exc:  # a gap in a pass: say so, never run the statement unrewritten
        log.warning("the local API could not compile a statement", exc_info=True)
        raise QueryError(
            f"the local Deep Lake API cannot run this statement ({type(exc).__name__} while rewriting it); "
            "simplify it, e.g. split it into smaller queries"
        ) from exc
    if key is not None and keys is not None and _reusable(plan, keys):
        _cache.put(key, plan)
    return plan


def _param_keys(values: list[JSON], lifted: int) -> tuple[Hashable, ...] | None:
    """What of each param a plan can depend on: a vector's length and zero-ness, any other scalar's value;
    None when a param is of another kind (the plan is then not cached)."""
    keys: list[Hashable] = []
    for i, value in enumerate(values):
        if i >= lifted or is_vector_text(value):
            assert isinstance(value, str)
            keys.append((_VECTOR, *vector_shape(value)))
        elif is_vector(value):
            keys.append((_VECTOR, len(value), not any(value)))  # numbers: falsy exactly when == 0
        elif isinstance(value, _SCALARS):
            keys.append((type(value), value))
        else:
            return None
    return tuple(keys)


def _reusable(plan: Plan, keys: tuple[Hashable, ...]) -> bool:
    """Whether the plan holds no vector param's value: a search's WHERE (kept for estimates) has none."""
    if plan.search is None:
        return True
    vectors = {n for n, key in enumerate(keys, start=1) if isinstance(key, tuple) and key[0] is _VECTOR}
    return not plan.search.condition_params & vectors


def _plan(sql: str, root: ast.Node, values: list[JSON]) -> Plan:
    if isinstance(root, ast.CopyStmt) and root.filename is None:
        raise QueryError("COPY FROM STDIN and COPY TO STDOUT are not supported; use INSERT or SELECT")
    if isinstance(root, ast.TransactionStmt):
        raise QueryError("transaction control is not available: every query runs in a transaction of its own")
    index = deeplake_index(root)
    if index is not None:
        return Plan(index.standin_sql, values, index=index)
    changed = drop_embedding_typmods(root)
    changed = point_pg_indexes(root) or changed
    changed = rewrite_search(root, values) or changed
    search = plan_vector_search(root, values)
    float4 = _float4_params(root, values)
    if search is not None:
        return Plan(render(root), [*values, *search.extra_params], search=search, float4_params=float4)
    return Plan(render(root) if changed else sql, values, float4_params=float4)


def _float4_params(root: ast.Node, values: list[JSON]) -> frozenset[int]:
    """The positions of the params that are lists of numbers and appear only as `$n::float4[]`: typing them
    float4[] changes nothing, so they can go as binary float4[]."""
    vectors = [n for n, value in enumerate(values, start=1) if is_vector(value)]
    if not vectors:
        return frozenset()
    uses: Counter[int] = Counter()
    casts: Counter[int] = Counter()
    for node in walk(root):
        if isinstance(node, ast.ParamRef):
            uses[node.number or 0] += 1
        elif isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.ParamRef) and _is_float4_array(node.typeName):
            casts[node.arg.number or 0] += 1
    return frozenset(n - 1 for n in vectors if uses[n] == casts[n] > 0)


def _is_float4_array(name: ast.TypeName | None) -> bool:
    return (
        name is not None
        and len(name.arrayBounds or ()) == 1
        and tuple(str(part.sval).lower() for part in name.names or () if isinstance(part, ast.String)) in _FLOAT4
    )


def _one_statement(sql: str) -> ast.Node:
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        raise QueryError(_AT_INDEX.sub("", str(exc.args[0]) if exc.args else str(exc))) from exc
    if len(statements) != 1:
        raise QueryError(
            "only one SQL statement per query is allowed; send statements one at a time"
            if statements
            else "the query holds no SQL statement"
        )
    root = statements[0].stmt
    assert isinstance(root, ast.Node)
    return root
