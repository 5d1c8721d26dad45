"""The legacy Tensor Database query API (``POST {base}/api/query/v1``, TQL over ``hub://`` datasets)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deeplake_mcp.deeplake._client import DeepLakeClient
from deeplake_mcp.deeplake._errors import DeepLakeError

__all__ = ["DEFAULT_TENSORDB_URL", "TQLResult", "TensorDBClient"]

DEFAULT_TENSORDB_URL = "https://app.activeloop.ai"


class TQLResult(BaseModel):
    """``{"message", "tensors", "data"}``: rows as objects (``as_list``) or columns as lists."""

    model_config = ConfigDict(extra="allow")

    message: str = ""
    tensors: list[str] = Field(default_factory=list)
    data: list[Any] | dict[str, Any] | None = None

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """``(columns, rows)``, row-major, for either shape of ``data``.

        Columns are ``tensors`` in order; without them, the keys of the first row (list
        shape) or of the column object. A value missing from a row or column is ``None``.
        """
        data = self.data
        if data is None:
            return list(self.tensors), []
        if isinstance(data, dict):
            columns = list(self.tensors) or [str(key) for key in data]
            values = [_column(data.get(name), name) for name in columns]
            height = max((len(column) for column in values), default=0)
            rows = [[column[i] if i < len(column) else None for column in values] for i in range(height)]
            return columns, rows
        columns = list(self.tensors)
        if not columns and data and isinstance(data[0], dict):
            columns = [str(key) for key in data[0]]
        return columns, [_row(item, columns) for item in data]


def _column(values: Any, name: str) -> list[Any]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise DeepLakeError(f"The Tensor Database answered a column {name!r} that is not a list")
    return values


def _row(item: Any, columns: list[str]) -> list[Any]:
    if isinstance(item, dict):
        return [item.get(name) for name in columns]
    if isinstance(item, list):
        return item
    raise DeepLakeError("The Tensor Database answered a row that is neither an object nor a list")


class TensorDBClient(DeepLakeClient):
    """The Tensor Database query API: one TQL SELECT per call, bearer-authenticated.

    ```python
    async with TensorDBClient(api_key="...") as tdb:
        result = await tdb.tql_query('SELECT * FROM "hub://org/ds" LIMIT 5')
        columns, rows = result.table()
    ```

    Takes the same parameters as :class:`DeepLakeClient`; ``base_url`` defaults to
    ``https://app.activeloop.ai``.
    """

    def __init__(self, *, base_url: str = DEFAULT_TENSORDB_URL, **kwargs: Any) -> None:
        super().__init__(base_url=base_url, **kwargs)

    async def tql_query(self, query: str, *, as_list: bool = True) -> TQLResult:
        """``POST /api/query/v1`` with ``{"query", "as_list"}``.

        A query only reads, so it is retried like a GET on 429/502/503/504 and lost connections.
        """
        body = await self._request(
            "POST",
            "/api/query/v1",
            json={"query": query, "as_list": as_list},
            wait=self._timeouts.query,
            idempotent=True,
        )
        return self._parse(TQLResult, body or {})
