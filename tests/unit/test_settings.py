"""Settings precedence (flags > environment > TOML) and strict validation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deeplake_mcp.guard import AccessMode
from deeplake_mcp.settings import Backend, SettingsError, default_data_dir, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_select_the_embedded_backend() -> None:
    settings = load_settings(environ={})
    assert settings.effective_backend == "local"
    assert settings.access is AccessMode.READ_WRITE
    assert settings.workspace == "default"
    assert settings.max_rows == 100
    assert settings.host == "127.0.0.1"


def test_api_key_selects_cloud_and_is_never_shown() -> None:
    settings = load_settings(environ={"DEEPLAKE_API_KEY": "sk-secret-1"})
    assert settings.effective_backend == "cloud"
    assert "sk-secret-1" not in repr(settings)
    assert "sk-secret-1" not in str(settings.summary())


def test_flags_over_env_over_file(tmp_path: Path) -> None:
    config = write(tmp_path, 'access = "read-only"\nworkspace = "from-file"\nmax_rows = 5\n')
    env = {"DEEPLAKE_WORKSPACE": "from-env", "DEEPLAKE_MCP_MAX_ROWS": "7"}
    settings = load_settings({"max_rows": 9}, environ=env, config_file=config)
    assert settings.access is AccessMode.READ_ONLY  # only in the file
    assert settings.workspace == "from-env"  # env beats file
    assert settings.max_rows == 9  # flag beats env


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = write(tmp_path, 'backend = "local"\n')
    settings = load_settings(environ={"DEEPLAKE_MCP_CONFIG": str(config), "DEEPLAKE_API_KEY": "k"})
    assert settings.backend is Backend.LOCAL
    assert settings.effective_backend == "local"


def test_unknown_file_key_is_named(tmp_path: Path) -> None:
    config = write(tmp_path, 'acess = "read-only"\n')
    with pytest.raises(SettingsError, match="unknown key 'acess'"):
        load_settings(environ={}, config_file=config)


def test_unknown_env_var_is_named() -> None:
    with pytest.raises(SettingsError, match="DEEPLAKE_MCP_READONLY"):
        load_settings(environ={"DEEPLAKE_MCP_READONLY": "true"})


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"DEEPLAKE_MCP_ACCESS": "read_only"}, "DEEPLAKE_MCP_ACCESS"),
        ({"DEEPLAKE_MCP_MAX_ROWS": "lots"}, "DEEPLAKE_MCP_MAX_ROWS"),
        ({"DEEPLAKE_MCP_MAX_ROWS": "0"}, "DEEPLAKE_MCP_MAX_ROWS"),
        ({"DEEPLAKE_API_URL": "ftp://x"}, "DEEPLAKE_API_URL"),
        ({"DEEPLAKE_MCP_BACKEND": "cloudy"}, "allowed: auto, cloud, local"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(environ=env)


def test_bad_flag_value_names_the_flag() -> None:
    with pytest.raises(SettingsError, match="flag --access.*allowed: read-only, read-write, destructive"):
        load_settings({"access": "everything"}, environ={})


def test_cloud_backend_needs_a_key() -> None:
    with pytest.raises(SettingsError, match="DEEPLAKE_API_KEY"):
        load_settings(environ={"DEEPLAKE_MCP_BACKEND": "cloud"})


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(environ={}, config_file=write(tmp_path, "access = \n"))
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings(environ={}, config_file=tmp_path / "missing.toml")


def test_example_config_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "deeplake-mcp.example.toml"
    settings = load_settings(environ={}, config_file=example)
    assert settings.access is AccessMode.READ_ONLY


def test_your_own_postgres_needs_both_urls_and_keeps_them_secret() -> None:
    with pytest.raises(SettingsError, match="needs both DEEPLAKE_MCP_POSTGRES_URL"):
        load_settings(environ={"DEEPLAKE_MCP_POSTGRES_URL": "postgresql://app:pw-1@db/x"})
    settings = load_settings(
        environ={
            "DEEPLAKE_MCP_POSTGRES_URL": "postgresql://app:pw-1@db/x",
            "DEEPLAKE_MCP_POSTGRES_ADMIN_URL": "postgresql://admin:pw-2@db/x",
        }
    )
    assert settings.summary()["postgres"] == "external"
    assert "pw-1" not in repr(settings) and "pw-2" not in str(settings.summary())


def test_upload_roots_default_to_the_working_directory_but_never_root_or_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).upload_roots == (tmp_path,)
    monkeypatch.chdir("/")
    assert load_settings(environ={}).upload_roots == ()
    monkeypatch.chdir(Path.home())
    assert load_settings(environ={}).upload_roots == ()
    dirs = f"{tmp_path}{os.pathsep}/srv/data"
    assert load_settings(environ={"DEEPLAKE_MCP_UPLOAD_DIRS": dirs}).upload_roots == (tmp_path, Path("/srv/data"))


def test_default_data_dir_as_root_is_reachable_by_the_server_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_data_dir() == Path("/var/lib/deeplake-mcp")


def test_workers_serve_http_only_and_share_the_cores() -> None:
    cores = os.cpu_count() or 1
    assert load_settings(environ={}).workers == 1  # stdio: one process
    http = load_settings({"transport": "http"}, environ={})
    assert http.workers == min(8, cores)
    assert http.embedding_threads == max(1, min(2, cores // http.workers))
    assert load_settings({"transport": "http"}, environ={"DEEPLAKE_MCP_HTTP_WORKERS": "3"}).workers == 3
    with pytest.raises(SettingsError, match="flag --workers: Input should be greater than or equal to 1"):
        load_settings({"transport": "http", "http_workers": 0}, environ={})
