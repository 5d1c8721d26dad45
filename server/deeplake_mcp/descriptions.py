"""What a table looks like, as the tools describe it (and the runtime caches it)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["ColumnInfo", "IndexInfo", "TableDescription", "display_type"]


def display_type(name: str) -> str:
    """A column type as users write it: PostgreSQL's array type names (``_float4``) as ``float4[]``."""
    if name.startswith("_") and len(name) > 1:
        return f"{name[1:]}[]"
    return name


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool
    default: str | None = None
    vector_dimension: int | None = Field(None, description="length of stored vectors (float4[] columns)")
    vector_model: str | None = Field(None, description="embedding model that produced the vectors, when known")


class IndexInfo(BaseModel):
    name: str
    definition: str


class TableDescription(BaseModel):
    workspace: str
    table_name: str
    columns: list[ColumnInfo]
    row_count: int | None = None
    size_mb: float | None = None
    indexes: list[IndexInfo] | None = Field(None, description="null when the backend could not list them")
