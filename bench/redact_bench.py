"""Benchmark redaction and auditing: what a log record, a tool result and an audited statement cost.

Run: ``.venv/bin/python bench/redact_bench.py``. Prints one line per measurement (median, microseconds).
"""

from __future__ import annotations

import json
import logging

from guard_bench import median_seconds

from deeplake_mcp.logs import redact_record
from deeplake_mcp.output import shape_rows
from deeplake_mcp.redact import protect, redact_value
from deeplake_mcp.statements import shape, tagged

SECRETS = ("dl-SECRET-apikey-0123456789", "http-SECRET-token-98765", "sk-emb-SECRET-42", "postgresql://q:pw-1@db/x")
RECORDS = {
    "no trigger word": ("%d rows in %.1f ms", (3, 1.5)),
    "trigger word, nothing to mask": ("HTTP Request: %s %s", ("POST", "http://deeplake.local/workspaces/default")),
    "a credential to mask": ("retrying after: %s", ("Authorization: Bearer abc.def-123 was refused",)),
}
TYPICAL = (
    "SELECT * FROM (\nSELECT id, title, embedding <#> ARRAY[0.12, -0.03, 0.88, 0.41]::float4[] AS score "
    "FROM \"my_workspace\".\"documents\" WHERE metadata->>'lang' = 'en' AND year > 2020 "
    "ORDER BY score DESC LIMIT 10\n) AS _deeplake_mcp_q LIMIT 101"
)


def wire_result(rows: int) -> dict[str, object]:
    """A tool result as it leaves the server: JSON text plus structuredContent."""
    data = [[i, f"document {i} about the sea", "en", {"source": "manual", "n": i}, 0.1 * i] for i in range(rows)]
    shaped = shape_rows(["id", "content", "lang", "metadata", "score"], data, max_rows=rows, max_chars=40_000)
    structured = shaped.model_dump()
    return {"content": [{"type": "text", "text": json.dumps(structured, indent=2)}], "structuredContent": structured}


def main() -> None:
    protect(*SECRETS)
    for name, (msg, args) in RECORDS.items():

        def make(msg: str = msg, args: tuple[object, ...] = args) -> logging.LogRecord:
            return logging.LogRecord("httpx", logging.INFO, __file__, 1, msg, args, None)

        extra = median_seconds(lambda make=make: redact_record(make()), number=2000) - median_seconds(make, number=2000)
        print(f"log record, {name}: +{extra * 1e6:.1f} µs")
    for rows in (1, 100):
        result = wire_result(rows)
        seconds = median_seconds(lambda r=result: redact_value(r), number=200)
        print(f"tool result, {rows} row(s): {seconds * 1e6:.1f} µs")
    fields = {"application": "deeplake-mcp", "session": "p1-abc", "tool": "query", "request_id": "7"}
    print(f"audit shape of a typical statement: {median_seconds(lambda: shape(TYPICAL), number=500) * 1e6:.1f} µs")
    print(f"SQLCommenter tag: {median_seconds(lambda: tagged(TYPICAL, fields), number=2000) * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
