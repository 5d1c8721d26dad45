"""The stdio transport lets go of a large request's params once it has written the answer."""

from __future__ import annotations

from mcp_types import JSONRPCError, JSONRPCRequest, JSONRPCResponse

from deeplake_mcp.stdio import _LargeRequests, _parse


def request(request_id: int, size: int) -> tuple[JSONRPCRequest, int]:
    line = b'{"jsonrpc": "2.0", "id": %d, "method": "tools/call", "params": {"pad": "%s"}}' % (request_id, b"x" * size)
    message = _parse(line)
    assert isinstance(message, JSONRPCRequest)
    return message, len(line)


def test_params_of_an_answered_large_request_are_dropped() -> None:
    large = _LargeRequests()
    big, big_size = request(1, 2 << 20)
    small, small_size = request(2, 10)
    failed, failed_size = request(3, 2 << 20)
    for message, size in ((big, big_size), (small, small_size), (failed, failed_size)):
        large.note(message, size)
    large.answered(JSONRPCResponse(jsonrpc="2.0", id=2, result={}))
    large.answered(JSONRPCResponse(jsonrpc="2.0", id=1, result={}))
    assert big.params is None and small.params is not None and failed.params is not None
    large.answered(JSONRPCError(jsonrpc="2.0", id=3, error={"code": -32603, "message": "failed"}))
    assert failed.params is None


def test_big_integers_survive_the_fast_decoder() -> None:
    message = _parse(b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"n": 123456789012345678901234567890}}')
    assert isinstance(message, JSONRPCRequest) and message.params == {"n": 123456789012345678901234567890}
