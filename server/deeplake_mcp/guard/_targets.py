"""System catalogs and internal schemas are never targets (policy 2.2).

A statement that writes, creates, alters, drops, comments on or grants on an object in
``pg_catalog``, ``information_schema``, any ``pg_*`` schema or the server's internal schemas is
X, and so is one whose unqualified target names a system catalog (``INSERT INTO pg_proc``).
An existing function, operator or type named without a schema (``DROP FUNCTION now()``,
``COMMENT ON OPERATOR <#> …``) counts as well when the catalogue knows it: built-in, pgvector's,
Deep Lake's or a helper of the server. Reading these objects stays a read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ._catalog import catalog
from ._classes import Finding, never
from ._functions import INTERNAL_SCHEMAS

__all__ = ["locked_relations", "name_targets", "relation_target"]

_HINT = (
    "system catalogs and this server's internal schemas (" + ", ".join(sorted(INTERNAL_SCHEMAS)) + ") "
    "can be read but never changed; create and change objects in your own schema"
)
_RELATION, _FUNCTION, _OPERATOR, _TYPE, _SCHEMA, _OTHER = "relation", "function", "operator", "type", "schema", "other"
# Object kinds whose name ends in a relation name, and those whose last name belongs to one.
_KINDS = {
    **dict.fromkeys(("TABLE", "VIEW", "MATVIEW", "INDEX", "SEQUENCE", "FOREIGN_TABLE"), _RELATION),
    **dict.fromkeys(("FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE"), _FUNCTION),
    **dict.fromkeys(("TYPE", "DOMAIN"), _TYPE),
    "OPERATOR": _OPERATOR,
    "SCHEMA": _SCHEMA,
}
_ON_RELATION = frozenset({"COLUMN", "TRIGGER", "POLICY", "RULE", "TABCONSTRAINT"})
# Statements on existing objects: the object list and the field that names its kind.
_OBJECTS = {
    "DropStmt": ("objects", "removeType"),
    "CommentStmt": ("object", "objtype"),
    "SecLabelStmt": ("object", "objtype"),
    "GrantStmt": ("objects", "objtype"),
    "RenameStmt": ("object", "renameType"),
    "AlterObjectSchemaStmt": ("object", "objectType"),
    "AlterOwnerStmt": ("object", "objectType"),
    "AlterObjectDependsStmt": ("object", "objectType"),
}
# Other statements: fields that hold one qualified name, and the kind of object it names.
_NAMES = {
    "AlterFunctionStmt": (("func", _FUNCTION),),
    "AlterEnumStmt": (("typeName", _TYPE),),
    "AlterTypeStmt": (("typeName", _TYPE),),
    "AlterDomainStmt": (("typeName", _TYPE),),
    "CreateFunctionStmt": (("funcname", _OTHER),),
    "DefineStmt": (("defnames", _OTHER),),
    "CreateDomainStmt": (("domainname", _OTHER),),
    "CreateEnumStmt": (("typeName", _OTHER),),
    "CreateRangeStmt": (("typeName", _OTHER),),
    "CreateConversionStmt": (("conversion_name", _OTHER),),
    "CreateOpClassStmt": (("opclassname", _OTHER),),
    "CreateOpFamilyStmt": (("opfamilyname", _OTHER),),
    "AlterOpFamilyStmt": (("opfamilyname", _OTHER),),
    "CreateStatsStmt": (("defnames", _OTHER),),
    "AlterStatsStmt": (("defnames", _OTHER),),
    "AlterCollationStmt": (("collname", _OTHER),),
    "AlterTSDictionaryStmt": (("dictname", _OTHER),),
    "AlterTSConfigurationStmt": (("cfgname", _OTHER),),
    "AlterOperatorStmt": (("opername", _OTHER),),
}
_REINDEX_SCHEMAS = frozenset({"REINDEX_OBJECT_SCHEMA", "REINDEX_OBJECT_SYSTEM"})
# Plain-text fields that name a schema.
_SCHEMA_FIELDS = {
    "CreateSchemaStmt": "schemaname",
    "AlterObjectSchemaStmt": "newschema",
}


def relation_target(node: dict[str, Any]) -> Finding | None:
    """X when a RangeVar that a statement changes is in a system schema or names a catalog."""
    schema = str(node.get("schemaname", ""))
    relname = str(node.get("relname", ""))
    qualified = [part for part in (node.get("catalogname"), schema, relname) if part]
    return _check([str(part) for part in qualified], _RELATION)


def locked_relations(select: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The relations whose rows a ``SELECT ... FOR UPDATE/SHARE [OF ...]`` locks: its targets."""
    clauses = [clause.get("LockingClause", {}) for clause in select.get("lockingClause", ())]
    if not clauses:
        return
    named = {rel.get("RangeVar", {}).get("relname") for clause in clauses for rel in clause.get("lockedRels", ())}
    for relation in _from_relations(select.get("fromClause", ())):
        alias = relation.get("alias", {}).get("aliasname")
        if not named or relation.get("relname") in named or alias in named:
            yield relation


def _from_relations(items: Any) -> Iterator[dict[str, Any]]:
    """The relations of a FROM list, through joins and subqueries (a lock reaches into both)."""
    for item in items:
        if "RangeVar" in item:
            yield item["RangeVar"]
        elif "JoinExpr" in item:
            yield from _from_relations([item["JoinExpr"].get("larg", {}), item["JoinExpr"].get("rarg", {})])
        elif "RangeSubselect" in item:
            subquery = item["RangeSubselect"].get("subquery", {}).get("SelectStmt", {})
            yield from _from_relations(subquery.get("fromClause", ()))


def name_targets(statement: str, body: dict[str, Any]) -> Finding | None:
    """X when a DDL statement's named target is in a system schema or is a system object."""
    for names, kind in _named(statement, body):
        found = _check(names, kind)
        if found is not None:
            return found
    return None


def _named(statement: str, body: dict[str, Any]) -> Iterator[tuple[list[str], str]]:
    """The ``(qualified name, kind)`` of every object that ``statement`` changes by name."""
    if statement in _OBJECTS:
        field, type_field = _OBJECTS[statement]
        objtype = str(body.get(type_field, "")).removeprefix("OBJECT_")
        kind = _KINDS.get(objtype, _OTHER)
        if statement == "GrantStmt" and body.get("targtype") == "ACL_TARGET_ALL_IN_SCHEMA":
            kind = _SCHEMA
        value = body.get(field)
        for item in value if isinstance(value, list) else [value]:
            names = _object_names(item)
            if objtype in _ON_RELATION and len(names) > 1:
                yield names[:-1], _RELATION
            elif names:
                yield names, kind
        if statement == "RenameStmt":
            yield from _renamed(body, kind)
    for field, kind in _NAMES.get(statement, ()):
        names = _object_names(body.get(field))
        if names:
            yield names, kind
    if statement in _SCHEMA_FIELDS and body.get(_SCHEMA_FIELDS[statement]):
        yield [str(body[_SCHEMA_FIELDS[statement]])], _SCHEMA
    if statement == "ReindexStmt" and body.get("kind") in _REINDEX_SCHEMAS:
        yield [str(body.get("name") or "pg_catalog")], _SCHEMA  # REINDEX SYSTEM: the system catalogs
    for option in body.get("options", ()) if statement.endswith(("ExtensionStmt", "DefaultPrivilegesStmt")) else ():
        element = option.get("DefElem", {})
        if element.get("defname") in ("schema", "schemas"):
            for schema in _object_names(element.get("arg")) or []:
                yield [schema], _SCHEMA


def _renamed(body: dict[str, Any], kind: str) -> Iterator[tuple[list[str], str]]:
    """A schema's or a relation's new name, and the old name of a renamed schema."""
    if kind == _SCHEMA and body.get("subname"):
        yield [str(body["subname"])], _SCHEMA
    if kind in (_SCHEMA, _RELATION) and body.get("newname"):
        yield [str(body["newname"])], kind


def _object_names(item: Any) -> list[str]:
    """The name parts of a list of String nodes, or of a List, String, ObjectWithArgs or TypeName."""
    if isinstance(item, dict):
        if len(item) == 1:
            ((key, inner),) = item.items()
            if key == "String":
                return [str(inner.get("sval", ""))]
            if key in ("List", "ObjectWithArgs", "TypeName"):
                item = inner
        item = item.get("items") or item.get("objname") or item.get("names") or []
    if not isinstance(item, list):
        return []
    return [str(part["String"].get("sval", "")) for part in item if isinstance(part, dict) and "String" in part]


def _check(names: Sequence[str], kind: str) -> Finding | None:
    display = ".".join(names)
    if kind == _SCHEMA and _system_schema(names[-1]):
        return never(f"target schema {display} is a system or internal schema", _HINT, subject=f"changing {display}")
    if any(_system_schema(part) for part in names[:-1]):
        return never(f"target {display} in a system or internal schema", _HINT, subject=f"changing {display}")
    if len(names) == 1 and _system_object(names[0].lower(), kind):
        what = "a system catalog" if kind == _RELATION else f"a built-in or server {kind}"
        return never(f"target {display} names {what}", _HINT, subject=f"changing {display}")
    return None


def _system_schema(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("pg_") or lowered == "information_schema" or lowered in INTERNAL_SCHEMAS


def _system_object(name: str, kind: str) -> bool:
    """Whether an unqualified name reaches a system catalog, or a built-in, pgvector or Deep Lake
    function, operator or type (those resolve before any user schema, or live in the server's)."""
    known = catalog()
    if kind == _RELATION:
        return name in known.relations
    if kind == _FUNCTION:
        return known.has_function(None, name) or name in known.internal
    if kind == _OPERATOR:
        return any(known.operator_volatility(None, name, prefix=prefix) for prefix in (False, True))
    if kind == _TYPE:
        return known.is_type(None, name)
    return False
