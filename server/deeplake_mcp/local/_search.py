"""BM25 keyword search and hybrid search for Deep Lake's `<#>`, by rewriting SELECTs with pglast.

Deep Lake answers `ORDER BY text_col <#> 'query' LIMIT k` from a BM25 index: only rows that contain
a query term come back, best first, whichever direction the ORDER BY asks for. PostgreSQL has no
such index, and a per-row function cannot see the corpus statistics BM25 needs (N, avgdl, df), so
every SELECT that reads one table and uses a text or hybrid `<#>` is rewritten:

* text: `doc <#> q` becomes `deeplake_compat.bm25_score(doc, (SELECT corpus FROM __dl_bm25_n))`,
  where the CTE `__dl_bm25_n` computes the statistics of `doc` over the whole table once per query.
  When the first ORDER BY key is that score (the expression, its alias or its position), the SELECT
  also gets `AND deeplake_compat.bm25_matches(doc, corpus)` and the key becomes DESC NULLS LAST.
* hybrid: `(emb, txt)[::deeplake_hybrid_record] <#> deeplake_hybrid_record(vec, q[, w_vec, w_text])`
  or `<#> (vec, q, w_vec, w_text)::deeplake_hybrid_record_weighted` becomes a lookup in a CTE that
  merges the top-k cosine hits and the top-k BM25 hits (k = the SELECT's LIMIT + OFFSET, all rows
  without one), each list softmax-normalised (`exp(min(s, 700)) / Σ exp`), weighted (0.5/0.5 by
  default) and summed per row, as pg_deeplake's `merge_query_results` does. The SELECT's WHERE
  applies to both lists. Ranking by it keeps only the merged rows, best first; elsewhere rows
  outside both lists score 0. Rows are matched by `ctid`, so the table must be a plain table.

Whether `<#>` is a text search is decided from the syntax, as types are unknown before planning:
a string literal that is not an array literal (`'{…}'`) nor a pgvector vector (`'[1, 2]'`), a
`::text`/`::varchar` cast, or a `$n` whose param is such a string. Anything else is left to
PostgreSQL's operators (cosine for float4[]; for text, BM25 over a one-document corpus; for hybrid
records, an explanatory error).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pglast import ast
from pglast.enums import SetOperation, SortByDir, SortByNulls

from deeplake_mcp.identifiers import quote_ident

from ._tree import (
    and_,
    cte,
    expr,
    is_similarity,
    last_name,
    own_nodes,
    render,
    replace,
    selects,
    sort_key,
    type_name,
)
from ._values import JSON

__all__ = ["ranked_operator", "rewrite_search"]

_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "char", "character varying", "name", "citext"})
_HYBRID_RECORD = "deeplake_hybrid_record"
_HYBRID_WEIGHTED = "deeplake_hybrid_record_weighted"
_HYBRID_NAMES = frozenset({_HYBRID_RECORD, _HYBRID_WEIGHTED})
_VECTOR_TEXT = re.compile(r"\s*\[[-+0-9.eE,\s]*\]\s*$")

_CORPUS_CTE = r"""
SELECT deeplake_compat.bm25_corpus(
    __dl_q.terms, __dl_s.n, __dl_s.total,
    ARRAY(SELECT (SELECT count(*) FROM {source} WHERE lower(({doc})) ~ __dl_u.pattern)
          FROM unnest(deeplake_compat.bm25_patterns(__dl_q.terms)) WITH ORDINALITY AS __dl_u(pattern, i)
          ORDER BY __dl_u.i)) AS corpus
FROM (SELECT deeplake_compat.bm25_terms(({query})) AS terms) AS __dl_q,
     (SELECT count(({doc})) AS n, coalesce(sum(regexp_count(({doc}), '\w+')), 0)::bigint AS total
      FROM {source}) AS __dl_s
"""

_HYBRID_CTE = """
SELECT coalesce(jsonb_object_agg(__dl_x.rid, __dl_x.score), '{{}}'::jsonb) AS scores FROM (
    SELECT __dl_l.rid, sum(__dl_l.w) AS score FROM (
        SELECT __dl_v.rid, ({vector_weight})::float8 * exp(least(__dl_v.s, 700))
                           / sum(exp(least(__dl_v.s, 700))) OVER () AS w
        FROM (SELECT ({ref}.ctid)::text AS rid, {cosine}::float8 AS s
              FROM {source} WHERE ({where}) AND {cosine} IS NOT NULL
              ORDER BY 2 DESC {limit}) AS __dl_v
        UNION ALL
        SELECT __dl_t.rid, ({text_weight})::float8 * exp(least(__dl_t.s, 700))
                           / sum(exp(least(__dl_t.s, 700))) OVER () AS w
        FROM (SELECT ({ref}.ctid)::text AS rid,
                     deeplake_compat.bm25_score(({text}), (SELECT corpus FROM {corpus}))::float8 AS s
              FROM {source}
              WHERE ({where}) AND deeplake_compat.bm25_matches(({text}), (SELECT corpus FROM {corpus}))
              ORDER BY 2 DESC {limit}) AS __dl_t
    ) AS __dl_l GROUP BY __dl_l.rid
) AS __dl_x
"""


def rewrite_search(root: ast.Node, params: Sequence[JSON] = ()) -> bool:
    """Rewrite the text and hybrid `<#>` of every SELECT in ``root`` as above; whether anything changed."""
    rewriter = _Rewriter(params)
    for select in list(selects(root)):
        rewriter.rewrite(select)
    return rewriter.changed


@dataclass(frozen=True)
class _Hybrid:
    embedding: ast.Node
    text: ast.Node
    vector: ast.Node
    query: ast.Node
    vector_weight: ast.Node | None
    text_weight: ast.Node | None


class _Rewriter:
    def __init__(self, params: Sequence[JSON]) -> None:
        self._params = params
        self._names = itertools.count(1)
        self.changed = False

    def rewrite(self, select: ast.SelectStmt) -> None:
        if select.op != SetOperation.SETOP_NONE or select.valuesLists:
            return
        operators = [node for node in own_nodes(select) if is_similarity(node)]
        kinds = {id(node): self._kind(node) for node in operators}
        if not any(kinds.values()):
            return
        from_clause = select.fromClause or ()
        if len(from_clause) != 1 or not isinstance(from_clause[0], ast.RangeVar):
            return
        relation = from_clause[0]
        source = render(relation)
        ref = quote_ident((relation.alias.aliasname if relation.alias else relation.relname) or "")
        ranked = ranked_operator(select)
        corpora: dict[tuple[str, str], str] = {}
        ctes: list[ast.CommonTableExpr] = []
        filters: list[str] = []

        def corpus(doc: str, query: str) -> str:
            key = (doc, query)
            if key not in corpora:
                name = f"__dl_bm25_{next(self._names)}"
                corpora[key] = name
                ctes.append(cte(name, _CORPUS_CTE.format(source=source, doc=doc, query=query)))
            return corpora[key]

        # Text first: the hybrid lists copy the WHERE clause, which may use a text score.
        replacements: dict[int, ast.Node] = {}
        for node in operators:
            if kinds[id(node)] == "text":
                doc, query = render(node.lexpr), render(node.rexpr)
                name = corpus(doc, query)
                replacements[id(node)] = expr(f"deeplake_compat.bm25_score(({doc}), (SELECT corpus FROM {name}))")
                if node is ranked:
                    filters.append(f"deeplake_compat.bm25_matches(({doc}), (SELECT corpus FROM {name}))")
        replace(select, replacements)
        where = render(select.whereClause) if select.whereClause is not None else "TRUE"
        limit = _limit(select)
        replacements = {}
        for node in operators:
            if kinds[id(node)] != "hybrid":
                continue
            hybrid = _hybrid_parts(node)
            assert hybrid is not None
            text = render(hybrid.text)
            name = f"__dl_hybrid_{next(self._names)}"
            cosine = (
                f"deeplake_compat.deeplake_cosine_similarity(({render(hybrid.embedding)}), "
                f"({render(hybrid.vector)})::float4[])"
            )
            body = _HYBRID_CTE.format(
                source=source,
                ref=ref,
                where=where,
                limit=limit,
                cosine=cosine,
                text=text,
                corpus=corpus(text, render(hybrid.query)),
                vector_weight=render(hybrid.vector_weight) if hybrid.vector_weight else "0.5",
                text_weight=render(hybrid.text_weight) if hybrid.text_weight else "0.5",
            )
            ctes.append(cte(name, body))
            replacements[id(node)] = expr(f"deeplake_compat.hybrid_score((SELECT scores FROM {name}), {ref}.ctid)")
            if node is ranked:
                filters.append(f"(SELECT scores FROM {name}) ? ({ref}.ctid)::text")
        replace(select, replacements)

        if ranked is not None and kinds.get(id(ranked)):
            first = (select.sortClause or ())[0]
            first.sortby_dir = SortByDir.SORTBY_DESC
            first.sortby_nulls = SortByNulls.SORTBY_NULLS_LAST
        for condition in filters:
            select.whereClause = and_(select.whereClause, expr(condition))
        if select.withClause is None:
            select.withClause = ast.WithClause(ctes=tuple(ctes), recursive=False)
        else:
            select.withClause.ctes = (*(select.withClause.ctes or ()), *ctes)
        self.changed = True

    def _kind(self, node: ast.A_Expr) -> str | None:
        if _hybrid_parts(node) is not None:
            return "hybrid"
        if _is_text(node.rexpr, self._params) or _is_text(node.lexpr, self._params):
            return "text"
        return None


# Recognising the operands


def _is_text(node: object, params: Sequence[JSON]) -> bool:
    if isinstance(node, ast.A_Const):
        return isinstance(node.val, ast.String) and _is_words(str(node.val.sval))
    if isinstance(node, ast.TypeCast) and node.typeName is not None:
        return not node.typeName.arrayBounds and type_name(node.typeName) in _TEXT_TYPES
    if isinstance(node, ast.ParamRef):
        index = (node.number or 0) - 1
        if 0 <= index < len(params):
            value = params[index]
            return isinstance(value, str) and _is_words(value)
    return False


def _is_words(text: str) -> bool:
    """Not an array literal (`{…}`), nor a pgvector vector literal (`[1, 2, …]`, for pgvector's own `<#>`)."""
    return not text.lstrip().startswith("{") and not _VECTOR_TEXT.match(text)


def _hybrid_parts(node: ast.A_Expr) -> _Hybrid | None:
    """The parts of `(emb, txt)[::deeplake_hybrid_record] <#> <hybrid record>`, if it is one."""
    left = node.lexpr
    if isinstance(left, ast.TypeCast) and left.typeName is not None:
        if type_name(left.typeName) != _HYBRID_RECORD:
            return None
        left = left.arg
    if not isinstance(left, ast.RowExpr) or len(left.args or ()) != 2:
        return None
    right = node.rexpr
    args: tuple[ast.Node, ...] = ()
    if isinstance(right, ast.FuncCall) and last_name(right.funcname) in _HYBRID_NAMES:
        args = tuple(right.args or ())
    elif (
        isinstance(right, ast.TypeCast)
        and right.typeName is not None
        and type_name(right.typeName) in _HYBRID_NAMES
        and isinstance(right.arg, ast.RowExpr)
    ):
        args = tuple(right.arg.args or ())
    if len(args) not in (2, 4):
        return None
    embedding, text = tuple(left.args or ())
    weights = args[2:] if len(args) == 4 else (None, None)
    return _Hybrid(embedding, text, args[0], args[1], weights[0], weights[1])


def ranked_operator(select: ast.SelectStmt) -> ast.A_Expr | None:
    """The `<#>` the first ORDER BY key sorts by: the expression itself, its alias or its position."""
    key = sort_key(select)
    return key if is_similarity(key) else None


# SQL snippets


def _limit(select: ast.SelectStmt) -> str:
    count = select.limitCount
    if count is None or (isinstance(count, ast.A_Const) and count.isnull):
        return ""
    if select.limitOffset is None:
        return f"LIMIT ({render(count)})"
    return f"LIMIT ({render(count)}) + coalesce(({render(select.limitOffset)}), 0)"
