"""Package smoke tests: what users install starts and answers.

* The Dockerfile cannot be built here (no container builder), so its install steps run in a clean venv:
  the files it COPYs, its `pip install` (with pip's download cache, which the image turns off), then the
  installed server with the image's settings, its HEALTHCHECK command, and `tools/list`.
* The README's `uv tool install` and `pipx install` of the checkout run as written.
* The MCP bundle is packed by the official CLI (when npx is there), and its entry point is started from
  the unpacked bundle, as the host does once uv has installed the dependencies.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from client_snippets import Target, code_blocks, printed_targets, tool_names
from data_dirs import reachable
from dockerfile import env as image_env
from dockerfile import instructions
from mcp_helpers import run_in_new_loop
from npx import MCPB, npx
from processes import free_port, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "image-test-token-0123456789"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the build context as the image sees it, a clean venv with the image's install steps run in it)."""
    root = reachable(tmp_path_factory.mktemp("image"))  # as root, PostgreSQL's user runs the venv's binaries
    workdir = root / "app"
    workdir.mkdir()
    for kind, arg in instructions():
        if kind == "COPY":
            *sources, target = shlex.split(arg)
            for source in sources:
                destination = workdir / target / Path(source).name if target.endswith("/") else workdir / target
                copy = shutil.copytree if (ROOT / source).is_dir() else shutil.copy
                copy(ROOT / source, destination)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PIP_NO_CACHE_DIR"}
    for kind, arg in instructions():
        if kind == "RUN" and arg.startswith("pip install"):
            words = [w for w in shlex.split(arg) if w != "--no-cache-dir"]
            subprocess.run(
                [str(venv / "bin" / "pip"), *words[1:], "-q"], cwd=workdir, env=env, check=True, timeout=1200
            )
    return workdir, venv


def test_the_installed_package_carries_its_licence(image: tuple[Path, Path]) -> None:
    _, venv = image
    licences = list(venv.glob("lib/python*/site-packages/deeplake_mcp-*.dist-info/licenses/LICENSE"))
    assert [p.read_text(encoding="utf-8") for p in licences] == [(ROOT / "LICENSE").read_text(encoding="utf-8")]


def test_the_sdist_carries_its_licence(image: tuple[Path, Path], tmp_path: Path) -> None:
    workdir, venv = image
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "setuptools>=77"], check=True, timeout=300)
    build = f"from setuptools.build_meta import build_sdist; print(build_sdist({str(tmp_path)!r}))"
    name = subprocess.run([python, "-c", build], cwd=workdir, capture_output=True, text=True, check=True).stdout
    with tarfile.open(tmp_path / name.strip().splitlines()[-1]) as sdist:
        assert any(member.endswith("/LICENSE") for member in sdist.getnames())


def test_the_installed_server_passes_its_health_check_and_lists_its_tools(
    image: tuple[Path, Path], new_data_dir: Path, tmp_path: Path
) -> None:
    """The image's settings, but bound to loopback on a free port (tests only talk to this machine)."""
    _, venv = image
    port = free_port()
    settings = image_env() | {"DEEPLAKE_MCP_HOST": "127.0.0.1", "DEEPLAKE_MCP_PORT": str(port)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPLAKE_")} | settings
    env |= {"DEEPLAKE_MCP_DATA_DIR": str(new_data_dir), "DEEPLAKE_MCP_HTTP_TOKEN": TOKEN, "PATH": str(venv / "bin")}
    entrypoint = json.loads(next(arg for kind, arg in instructions() if kind == "ENTRYPOINT"))
    command = json.loads(next(arg for kind, arg in instructions() if kind == "CMD"))
    log = tmp_path / "server.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([*entrypoint, *command], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        wait_for(url, proc, log)
        healthcheck = next(arg for kind, arg in instructions() if kind == "HEALTHCHECK")
        probe = json.loads(healthcheck.split(" CMD ", 1)[1])
        assert subprocess.run(probe, env=env, timeout=30, check=False).returncode == 0
        target = Target("Dockerfile", "image", url=url, headers=(("Authorization", f"Bearer {TOKEN}"),))
        assert {"query", "tql_query", "insert_rows"} <= run_in_new_loop(tool_names, target, {}, tmp_path / "client.log")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    tensordb = subprocess.run([str(venv / "bin" / "python"), "-c", "import deeplake"], check=False)
    assert tensordb.returncode == 0, "the tensordb extra is not installed"


def test_an_installed_command_prints_its_own_path(image: tuple[Path, Path]) -> None:
    """As after `uv tool install` or `pipx install`: client-config names the installed command."""
    _, venv = image
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPLAKE_")}
    done = subprocess.run(
        [str(venv / "bin" / "deeplake-mcp"), "client-config"], env=env, capture_output=True, text=True, check=True
    )
    assert f"-- {venv / 'bin' / 'deeplake-mcp'}\n" in done.stdout


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MCP bundle packed by the official CLI, unpacked."""
    out = tmp_path_factory.mktemp("bundle")
    done = npx(MCPB, "pack", str(ROOT), str(out / "deeplake-mcp.mcpb"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with zipfile.ZipFile(out / "deeplake-mcp.mcpb") as packed:
        packed.extractall(out / "unpacked")
    return out / "unpacked"


def test_the_bundle_holds_the_project_and_nothing_else(bundle: Path) -> None:
    packed = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    source = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "server").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not any(part.endswith(".egg-info") for part in p.parts)
    }
    assert packed == source | {"manifest.json", "pyproject.toml", "README.md", "LICENSE"}


def test_the_bundle_entry_point_serves_the_manifests_tools(bundle: Path, data_dir: Path, tmp_path: Path) -> None:
    """Run as a script from the unpacked bundle, the entry point imports the bundle's own copy of the package
    (its directory comes first on sys.path); the dependencies are this venv's, as uv would install them."""
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPLAKE_")}
    env |= {"DEEPLAKE_MCP_DATA_DIR": str(data_dir), "DEEPLAKE_MCP_EMBEDDER": "none"}
    target = Target(
        "manifest.json", "bundle", command=(sys.executable, str(bundle / manifest["server"]["entry_point"]))
    )
    names = run_in_new_loop(tool_names, target, env, tmp_path / "stderr.log")
    assert names == {tool["name"] for tool in manifest["tools"]}


INSTALLERS = {"uv": "uv tool install ", "pipx": "pipx install "}


@pytest.mark.parametrize("tool", sorted(INSTALLERS))
def test_the_readme_install_command_gives_a_working_server(tool: str, data_dir: Path, tmp_path: Path) -> None:
    """`uv tool install` / `pipx install` of this checkout, as the README writes it; then the stdio entry the
    installed `client-config` prints starts and lists the tools."""
    lines = [
        line
        for language, body in code_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
        if language == "bash"
        for line in body.splitlines()
        if line.startswith(INSTALLERS[tool])
    ]
    assert len(lines) == 1, lines
    bin_dir = tmp_path / "bin"
    home = reachable(tmp_path)  # as root, PostgreSQL's user runs the installed binaries
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPLAKE_", "UV_TOOL_", "PIPX_"))}
    env |= {"UV_TOOL_DIR": str(home / "tools"), "UV_TOOL_BIN_DIR": str(bin_dir)}
    env |= {"PIPX_HOME": str(home / "tools"), "PIPX_BIN_DIR": str(bin_dir)}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])  # the dev extra's uv, pipx
    command = lines[0].replace("/path/to/deeplake-mcp", str(ROOT))
    subprocess.run(["bash", "-c", command], env=env, check=True, capture_output=True, timeout=900)
    printed = subprocess.run(
        [str(bin_dir / "deeplake-mcp"), "client-config"], env=env, capture_output=True, text=True, check=True
    ).stdout
    _, targets = printed_targets(printed, env)
    desktop = next(t for t in targets if t.source == "printed Claude Desktop")
    assert Path(desktop.command[0]).is_relative_to(home / "tools")  # the tool's own environment
    shell = env | {"DEEPLAKE_MCP_DATA_DIR": str(data_dir), "DEEPLAKE_MCP_EMBEDDER": "none"}
    assert "tql_query" in run_in_new_loop(tool_names, desktop, shell, tmp_path / "stderr.log")
