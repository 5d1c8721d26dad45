"""The SDK's OpenTelemetry spans: skipped while no tracer provider is set up, made once one is (even later).

A process can set its global tracer provider only once, so the check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, contextlib, json, sys
from pathlib import Path

import httpx
from mcp import Client
from opentelemetry import trace

from deeplake_mcp.app import build_server
from deeplake_mcp.settings import load_settings

spans = []


class Recording(trace.NoOpTracer):
    @contextlib.contextmanager
    def start_as_current_span(self, name, *args, **kwargs):
        spans.append(name)
        yield trace.INVALID_SPAN


class Provider(trace.TracerProvider):
    def get_tracer(self, *args, **kwargs):
        return Recording()


async def main():
    settings = load_settings(
        {"data_dir": Path(sys.argv[1]), "backend": "cloud", "api_key": "k", "embedder": "none"}, environ={}
    )
    unreachable = httpx.MockTransport(lambda request: httpx.Response(503))
    async with Client(build_server(settings, transport=unreachable)) as client:
        await client.list_tools()
        trace.set_tracer_provider(Provider())
        await client.list_tools()
        await client.call_tool("server_info", {})
    print(json.dumps(spans))


asyncio.run(main())
"""


def test_spans_are_made_once_a_tracer_provider_is_set_up(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["tools/list", "tools/call server_info"]
