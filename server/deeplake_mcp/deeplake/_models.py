"""Typed views of the Deep Lake API's JSON responses.

The service is known to vary (bare arrays vs ``{"data": [...]}``, objects wrapped as
``{"organization": {...}}``, missing fields, empty bodies), so every model ignores unknown
fields and gives optional fields a default; the client unwraps the known envelopes.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

__all__ = [
    "Column",
    "Member",
    "Organization",
    "QueryResult",
    "TableDetails",
    "TableSummary",
    "User",
    "Workspace",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class User(_Model):
    id: str = ""
    email: str = ""
    name: str = ""
    organizations: list[str] = Field(default_factory=list)


class Organization(_Model):
    id: str
    name: str = ""
    creator: str | None = None
    created_at: str | None = None


class Member(_Model):
    """One member of an organisation; ``user_id`` is also read from ``id``."""

    user_id: str = Field(default="", validation_alias=AliasChoices("user_id", "id"))
    name: str = ""
    email: str = ""
    role: str = ""


class Workspace(_Model):
    id: str
    name: str = ""
    org_id: str | None = None
    type: str | None = None
    created_at: str | None = None


class TableSummary(_Model):
    table_name: str
    row_count: int | None = None


class Column(_Model):
    name: str
    type: str
    nullable: bool = True
    default: str | None = None


class TableDetails(_Model):
    table_name: str
    columns: list[Column] = Field(default_factory=list)
    row_count: int | None = None
    size_mb: float | None = None


class QueryResult(_Model):
    """Rows of one statement, row-major and aligned with ``columns``."""

    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    row_count: int = 0

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]
