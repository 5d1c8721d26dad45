"""The stdio transport lets go of a large request's params once it has written the answer, and packs the float
lists of a large insert_rows call (the same doubles, a sixth of the memory)."""

from __future__ import annotations

import json
import random
from array import array
from typing import Any

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


def insert_line(rows: list[dict[str, Any]], pad: int = 0, **arguments: Any) -> bytes:
    call = {
        "name": "insert_rows",
        "arguments": {"table": "t", "rows": rows, **arguments},
        "_meta": {"progressToken": 7},
    }
    return json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": call, "pad": "x" * pad}).encode()


def test_float_lists_of_a_large_insert_arrive_packed_and_exact() -> None:
    rng = random.Random(3)
    floats = [[rng.uniform(-1e30, 1e30) * rng.random() ** 40 for _ in range(384)] for _ in range(800)]
    rows = [
        {
            "v": floats[i],
            "ints": list(range(20)),
            "short": [0.5] * 3,
            "mixed": [1.5] * 20 + [2],
            "meta": {"a": [0.5] * 20},
        }
        for i in range(len(floats))
    ]
    line = insert_line(rows, workspace="w", embed=None)
    assert len(line) >= 1 << 20
    message = _parse(line)
    assert isinstance(message, JSONRPCRequest) and message.params is not None
    sent = message.params["arguments"]["rows"]
    for got, row in zip(sent, rows, strict=True):
        assert type(got["v"]) is array and got["v"].tolist() == row["v"]  # the same doubles, bit for bit
        assert all(type(got[k]) is list for k in ("ints", "short", "mixed")) and got["meta"] == row["meta"]
    # Everything else is exactly what the plain decoder makes of the line.
    plain = json.loads(line)
    plain["params"]["arguments"]["rows"] = [{k: plain_value(v) for k, v in r.items()} for r in sent]
    assert message.model_dump(by_alias=True, exclude_unset=True) == _parse(json.dumps(plain).encode()).model_dump(
        by_alias=True, exclude_unset=True
    )


def plain_value(value: Any) -> Any:
    return value.tolist() if type(value) is array else value


def test_other_large_lines_decode_as_before() -> None:
    small = _parse(insert_line([{"v": [0.5] * 20}]))  # under the size that packing starts at
    assert isinstance(small, JSONRPCRequest) and small.params is not None
    assert type(small.params["arguments"]["rows"][0]["v"]) is list
    other_tool = json.loads(insert_line([{"v": [0.5] * 20}], pad=1 << 20))
    other_tool["params"]["name"] = "query"
    decoded = _parse(json.dumps(other_tool).encode())
    assert isinstance(decoded, JSONRPCRequest) and decoded.params is not None
    assert type(decoded.params["arguments"]["rows"][0]["v"]) is list
    odd = insert_line([], pad=1 << 20).replace(b'"rows": []', b'"rows": {"not": "a list"}')
    decoded = _parse(odd)  # the tool's own validation answers this one
    assert isinstance(decoded, JSONRPCRequest) and decoded.params is not None
    assert decoded.params["arguments"]["rows"] == {"not": "a list"}
