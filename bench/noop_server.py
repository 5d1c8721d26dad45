"""The reference server: the MCP SDK's ``MCPServer`` with one tool that does nothing.

It takes the arguments our tools take (so the same payload is validated the same way) and answers with a
small structured result. It measures what the SDK and the transport cost on their own.

    python bench/noop_server.py                 # stdio
    python bench/noop_server.py --port 8123     # stateless streamable HTTP on 127.0.0.1, like ours
"""

from __future__ import annotations

import argparse
from typing import Any

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

server = MCPServer("noop", log_level="WARNING")


class Received(BaseModel):
    rows: int


@server.tool()
async def noop(
    table: str | None = None,
    rows: list[dict[str, Any]] | None = None,
    sql: str | None = None,
    query: str | None = None,
    vector: list[float] | None = None,
    k: int = 10,
    columns: list[str] | None = None,
    workspace: str | None = None,
) -> Received:
    """Do nothing; say how many rows arrived."""
    return Received(rows=len(rows or ()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, help="serve streamable HTTP on this port instead of stdio")
    args = parser.parse_args()
    if args.port is None:
        server.run()
    else:
        server.run(
            "streamable-http",
            host="127.0.0.1",
            port=args.port,
            stateless_http=True,
            json_response=False,
            max_request_body_size=64 * 2**20,
        )


if __name__ == "__main__":
    main()
