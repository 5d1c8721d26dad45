"""The socket worker processes share: asyncio must switch Nagle off on what it accepts (else ~40 ms a reply)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from deeplake_mcp.http import listening_socket

pytestmark = pytest.mark.anyio


async def test_accepted_connections_have_nodelay() -> None:
    accepted: list[int] = []

    def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    with listening_socket("127.0.0.1", 0) as sock:
        server = await asyncio.start_server(on_connection, sock=sock)
        async with server:
            port = sock.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if accepted:
                    break
                await asyncio.sleep(0.01)
            writer.close()
    assert accepted and accepted[0]
