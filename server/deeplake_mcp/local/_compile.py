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
parsing, since parsing and rendering hundreds of numbers costs milliseconds.

Plans are cached by that shorter text and the other params (an LRU of CACHE_SIZE): the same search
with another query vector compiles once. A lifted vector can change a plan only by its length and by
being all zeros (both part of the key), or when a WHERE condition uses it (such plans are not cached).
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from pglast import ast, parse_sql
from pglast.parser import ParseError

from ._ann import VectorSearch, plan_vector_search
from ._errors import LocalAPIError, QueryError
from ._search import rewrite_search
from ._sqlcompat import DeeplakeIndex, deeplake_index, drop_embedding_typmods, point_pg_indexes
from ._tree import render, walk
from ._values import JSON

__all__ = ["CACHE_SIZE", "Plan", "compile_sql"]

log = logging.getLogger(__name__)

_LITERAL = re.compile(r"(<#>|<=>|<->)(\s*)ARRAY\s*\[([-+0-9.eE,\s]*)\]", re.IGNORECASE)
_AT_INDEX = re.compile(r", at index \d+$")
_SCALARS = (str, int, float, Decimal, bool, type(None))
_NUMBER = r"(?>\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*)"  # atomic: no backtracking
_NUMBERS = re.compile(rf"{_NUMBER}(?:,{_NUMBER})*+")
_EXPONENT = re.compile(r"[eE][-+]?\d+")
_NONZERO_DIGIT = re.compile(r"[1-9]")


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


_cache: OrderedDict[Hashable, Plan] = OrderedDict()


def compile_sql(sql: str, params: Sequence[JSON] = ()) -> Plan:
    """Compile one statement (see the module docstring); QueryError when it cannot run here."""
    params = list(params)
    lifted = _lift_literals(sql, len(params))
    if lifted is not None:
        try:
            return _compile(*lifted, params)
        except _NotLifted:
            pass
    return _compile(sql, [], params)


class _NotLifted(Exception):
    """Vectors were lifted from a string or a comment: they are not all params of the text."""


def _compile(text: str, vectors: list[JSON], params: list[JSON]) -> Plan:
    """The plan of ``text`` with ``params`` and then ``vectors`` as its params, cached when that is safe."""
    values = [*params, *vectors]
    key = _key(text, params, vectors)
    cached = _cache.get(key) if key is not None else None
    if cached is not None:
        _cache.move_to_end(key)
        return replace(cached, params=[*values, *cached.params[len(values) :]])
    root = _one_statement(text)
    lifted = range(len(params) + 1, len(values) + 1)
    if vectors and sorted(_param_numbers(root, len(params))) != list(lifted):
        raise _NotLifted
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
    if key is not None and (plan.search is None or not plan.search.condition_params & set(lifted)):
        _cache[key] = plan
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return plan


def _key(text: str, params: list[JSON], vectors: list[JSON]) -> Hashable | None:
    """The cache key of a compilation, or None when it is not cached (long text, params of other kinds)."""
    if len(text) > MAX_CACHED_TEXT or not all(isinstance(value, _SCALARS) for value in params):
        return None
    return text, tuple((type(value), value) for value in params), tuple(map(_shape, vectors))


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
    if search is not None:
        return Plan(render(root), [*values, *search.extra_params], search=search)
    if changed:
        return Plan(render(root), values)
    return Plan(sql, values)


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


def _lift_literals(sql: str, count: int) -> tuple[str, list[JSON]] | None:
    """`sql` with each `<#> ARRAY[numbers]` (or `<=>`, `<->`) made `<#> ($n::float4[])`, and the vectors
    (as array text, digit for digit); None if none.

    A literal found inside a string or comment does not come back as a param: the caller then
    parses `sql` as it is.
    """
    vectors: list[JSON] = []

    def lift(match: re.Match[str]) -> str:
        if not _NUMBERS.fullmatch(match.group(3)):
            return match.group(0)
        vectors.append("{" + match.group(3) + "}")
        return f"{match.group(1)}{match.group(2)}(${count + len(vectors)}::float4[])"

    short = _LITERAL.sub(lift, sql)
    return (short, vectors) if vectors else None


def _shape(vector: JSON) -> tuple[int, bool]:
    """(length, whether all zeros) of a lifted vector."""
    assert isinstance(vector, str)
    return vector.count(",") + 1, not _NONZERO_DIGIT.search(_EXPONENT.sub("", vector))


def _param_numbers(root: ast.Node, above: int) -> Iterator[int]:
    for node in walk(root):
        if isinstance(node, ast.ParamRef) and (node.number or 0) > above:
            yield node.number or 0
