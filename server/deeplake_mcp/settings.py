"""Settings: command-line flags over environment over a TOML file, validated strictly.

Every setting has one name per source:

=================  ========================  ==================
TOML key           environment               flag
=================  ========================  ==================
api_key            DEEPLAKE_API_KEY          (never a flag)
api_url            DEEPLAKE_API_URL          --api-url
tensordb_url       DEEPLAKE_TENSORDB_URL     (no flag)
org_id             DEEPLAKE_ORG_ID           --org-id
workspace          DEEPLAKE_WORKSPACE        --workspace
access             DEEPLAKE_MCP_ACCESS       --access
data_dir           DEEPLAKE_MCP_DATA_DIR     --data-dir
backend            DEEPLAKE_MCP_BACKEND      --backend
...                DEEPLAKE_MCP_<KEY>        --<key>
=================  ========================  ==================

Unknown keys (in the file, or ``DEEPLAKE_MCP_*`` variables) and bad values are errors
that name the key and its source.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from deeplake_mcp.deeplake import DEFAULT_API_URL, DEFAULT_TENSORDB_URL
from deeplake_mcp.guard import DEFAULT_ACCESS, AccessMode, parse_read_functions
from deeplake_mcp.redact import protect, secret_values

__all__ = ["ENV_NAMES", "Backend", "Settings", "SettingsError", "default_data_dir", "load_settings", "reveal"]

_FLAGS = {"http_workers": "--workers", "http_token": "--token"}
"""Flags whose name is not the setting's (the others are ``--`` and the name with dashes)."""
_ENV_PREFIX = "DEEPLAKE_MCP_"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_SCOPES: Mapping[str, AccessMode] = {  # OAuth scope -> the access mode it grants
    "deeplake:read": AccessMode.READ_ONLY,
    "deeplake:write": AccessMode.READ_WRITE,
    "deeplake:admin": AccessMode.DESTRUCTIVE,
}


class Backend(StrEnum):
    AUTO = "auto"
    CLOUD = "cloud"
    LOCAL = "local"


class SettingsError(ValueError):
    """A setting is unknown or has a bad value; the message names the key and where it came from."""


def default_data_dir() -> Path:
    """The per-user data directory of this platform, for the embedded backend.

    As root it is ``/var/lib/deeplake-mcp``: PostgreSQL then runs as a system user, which must be
    able to reach the directory (root's home is private).
    """
    if sys.platform != "win32" and os.geteuid() == 0:
        return Path("/var/lib/deeplake-mcp")
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "deeplake-mcp"


class Settings(BaseModel):
    """The effective configuration of one server process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = Field(None, description="bearer token; selects the cloud backend")
    api_url: str = Field(DEFAULT_API_URL, description="managed API base URL")
    tensordb_url: str = Field(
        DEFAULT_TENSORDB_URL, description="Tensor Database (TQL query API) base URL, cloud backend"
    )
    org_id: str | None = Field(None, description="organisation id sent as X-Activeloop-Org-Id")
    workspace: str = Field("default", min_length=1, description="default workspace for tools")
    access: AccessMode = Field(DEFAULT_ACCESS, description="read-only, read-write or destructive")
    data_dir: Path = Field(default_factory=default_data_dir, description="embedded backend data")
    postgres_url: SecretStr | None = Field(
        None, description="your own PostgreSQL instead of the embedded one: the role agents' SQL runs as"
    )
    postgres_admin_url: SecretStr | None = Field(
        None, description="your own PostgreSQL: a superuser for set-up and bookkeeping (with postgres_url)"
    )
    upload_dirs: tuple[Path, ...] | None = Field(
        None, description="directories upload_file may read (default: the working directory, unless / or home)"
    )
    max_body_mb: int = Field(
        64, ge=1, le=4096, description="largest request accepted, in MiB (HTTP bodies; stdio messages)"
    )
    backend: Backend = Field(Backend.AUTO, description="auto, cloud or local")
    max_rows: int = Field(100, ge=1, le=10_000, description="rows returned by query tools at most")
    max_result_chars: int = Field(
        20_000, ge=1_000, le=2_000_000, description="size budget of one tool result's text, in characters"
    )
    max_cell_chars: int = Field(
        2_000, ge=16, le=1_000_000, description="characters of one value shown at most; longer ones are clipped"
    )
    query_timeout: float = Field(60.0, gt=0, le=3600, description="seconds a query may run")
    transport: Literal["stdio", "http"] = Field("stdio", description="stdio or http")
    host: str = Field("127.0.0.1", min_length=1, description="HTTP bind address")
    port: int = Field(8000, ge=0, le=65_535, description="HTTP port")
    allow_unauthenticated: bool = Field(
        False, description="serve HTTP beyond loopback without authentication (anyone who reaches it gets the tools)"
    )
    http_workers: int | None = Field(
        None, ge=1, le=64, description="HTTP worker processes (default: one per CPU core, at most 8)"
    )
    http_max_connections: int = Field(256, ge=8, le=100_000, description="concurrent HTTP connections at most")
    http_streams: int = Field(64, ge=1, le=100_000, description="open event streams (GET /mcp) at most, in all")
    http_streams_per_client: int = Field(4, ge=1, le=10_000, description="open event streams at most, per client")
    http_stream_timeout: float = Field(300.0, gt=0, le=86_400, description="seconds an event stream stays open")
    http_token: SecretStr | None = Field(
        None, description="bearer tokens HTTP clients may send (comma-separated: several are valid at once)"
    )
    http_token_file: Path | None = Field(
        None, description="file of bearer tokens, one a line (# comments), re-read when it changes"
    )
    oauth_issuer: str | None = Field(
        None, description="OAuth authorization server whose JWT access tokens are accepted"
    )
    oauth_jwks_url: str | None = Field(None, description="its JWKS URL (default: from the issuer's metadata)")
    oauth_audience: str | None = Field(None, description="the aud tokens must carry (default: oauth_resource_url)")
    oauth_resource_url: str | None = Field(
        None, description="this MCP endpoint's public URL, e.g. https://mcp.example.com/mcp (the OAuth resource)"
    )
    oauth_scopes: dict[str, AccessMode] = Field(
        default_factory=lambda: dict(DEFAULT_SCOPES), description="OAuth scope -> the access mode it grants"
    )
    allowed_hosts: tuple[str, ...] = Field((), description="extra Host headers accepted over HTTP")
    read_functions: tuple[str, ...] = Field(
        (), description="functions the SQL guard may treat as reads (name or schema.name); never internal or X ones"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="stderr log level")
    admin_tools: bool = Field(False, description="also list workspace and member administration tools")
    embedder: Literal["local", "openai", "none"] = Field(
        "local", description="text embeddings: local (offline MiniLM), openai (compatible endpoint), none"
    )
    embedder_preload: bool = Field(
        False,
        description="load the text embedder at start, in the background (the first text search is quicker; "
        "the local model keeps about 160 MB resident from then on)",
    )
    embedding_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://host/v1")
    embedding_model: str | None = Field(None, description="model name sent to the embedding endpoint")
    embedding_api_key: SecretStr | None = Field(None, description="bearer token of the embedding endpoint")
    embedding_dimensions: int | None = Field(None, ge=1, le=65_536, description="embedding size")
    audit_log: str | None = Field(
        None, description="audit trail of every SQL/TQL statement: 'stderr' or a file path (off when unset)"
    )

    def model_post_init(self, _context: Any) -> None:
        """Every secret setting (and each of several HTTP tokens) is known to the redactor from the moment it exists."""
        tokens = reveal(self.http_token) or ""
        protect(*secret_values(self), *(token.strip() for token in tokens.split(",")))

    @field_validator("api_url", "tensordb_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("allowed_hosts", "read_functions", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(h.strip() for h in value.split(",") if h.strip())
        return value

    @field_validator("oauth_issuer", "oauth_jwks_url", "oauth_resource_url")
    @classmethod
    def _oauth_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            raise ValueError("must be an https:// URL (http:// only for 127.0.0.1, localhost or ::1)")
        if not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be a URL with a host and without ?query or #fragment")
        return value

    @field_validator("oauth_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        if isinstance(value, str):  # "deeplake:read=read-only, deeplake:write=read-write"
            pairs = (item.partition("=") for item in value.split(",") if item.strip())
            return {scope.strip(): mode.strip() for scope, _, mode in pairs}
        return value

    @field_validator("oauth_scopes")
    @classmethod
    def _scopes_cover_every_mode(cls, value: dict[str, AccessMode]) -> dict[str, AccessMode]:
        bad = [scope for scope in value if not scope or any(c.isspace() or c in '\\"' for c in scope)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a scope name (no spaces, quotes or backslashes)")
        missing = [mode.value for mode in AccessMode if mode not in value.values()]
        if missing:
            raise ValueError(
                f"no scope grants {', '.join(missing)}; map one scope to each access mode, "
                "e.g. deeplake:read=read-only,deeplake:write=read-write,deeplake:admin=destructive"
            )
        return value

    @field_validator("audit_log")
    @classmethod
    def _audit_target(cls, value: str | None) -> str | None:
        if value is None or value == "stderr":
            return value
        if value == "stdout":
            raise ValueError("stdout carries the MCP protocol over stdio; use stderr or a file path")
        parent = Path(value).expanduser().parent
        if not parent.is_dir():
            raise ValueError(f"the directory {parent} does not exist")
        return value

    @field_validator("upload_dirs", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(os.pathsep) if p.strip())
        return value

    @property
    def upload_roots(self) -> tuple[Path, ...]:
        """Where ``upload_file(path=…)`` may read: the setting, else the working directory unless it is
        the file system root or the home directory (then nowhere)."""
        if self.upload_dirs is not None:
            return self.upload_dirs
        cwd = Path.cwd()
        return () if cwd in (Path(cwd.anchor), Path.home()) else (cwd,)

    @field_validator("read_functions")
    @classmethod
    def _read_functions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(parse_read_functions(value)))

    @property
    def effective_backend(self) -> Literal["cloud", "local"]:
        """``cloud`` when a key is configured (or forced), else the embedded ``local`` backend."""
        if self.backend is Backend.AUTO:
            return "cloud" if self.api_key else "local"
        return "cloud" if self.backend is Backend.CLOUD else "local"

    @property
    def binds_loopback(self) -> bool:
        return self.host in _LOOPBACK

    @property
    def workers(self) -> int:
        """Processes serving: ``http_workers`` (default one per core, at most 8) over HTTP, one over stdio."""
        if self.transport != "http":
            return 1
        return self.http_workers or min(8, os.cpu_count() or 1)

    @property
    def embedding_threads(self) -> int:
        """onnxruntime threads per process: the cores shared among the workers, one to two each."""
        return max(1, min(2, (os.cpu_count() or 1) // self.workers))

    @property
    def http_auth_enabled(self) -> bool:
        """Whether HTTP clients must authenticate: static tokens or an OAuth issuer are configured."""
        return bool(self.http_token or self.http_token_file or self.oauth_issuer)

    def summary(self) -> dict[str, Any]:
        """What the server runs with, safe to log and to show (no secrets)."""
        return {
            "backend": self.effective_backend,
            "api_url": self.api_url if self.effective_backend == "cloud" else "embedded",
            "tensordb_url": self.tensordb_url if self.effective_backend == "cloud" else "embedded",
            "workspace": self.workspace,
            "access": self.access.value,
            "max_rows": self.max_rows,
            "query_timeout_s": self.query_timeout,
            "api_key": "set" if self.api_key else None,
            "postgres": "external" if self.postgres_url else "embedded",
            "embedder": self.embedder,
            "http_auth": "+".join(
                kind
                for kind, on in (("tokens", self.http_token or self.http_token_file), ("oauth", self.oauth_issuer))
                if on
            )
            or "none",
            "audit_log": self.audit_log or "off",
        }


def reveal(secret: SecretStr | None) -> str | None:
    """The value of an optional secret setting, for the one place that uses it."""
    return None if secret is None else secret.get_secret_value()


def _field_env_name(name: str) -> str:
    if name in ("api_key", "api_url", "org_id", "workspace", "tensordb_url"):
        return f"DEEPLAKE_{name.upper()}"
    return f"{_ENV_PREFIX}{name.upper()}"


ENV_NAMES: Mapping[str, str] = {name: _field_env_name(name) for name in Settings.model_fields}


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | str | None = None,
) -> Settings:
    """Merge the TOML file, then the environment, then flags (highest), and validate.

    ``flags`` holds only the flags the user gave (``None`` values are ignored).
    Raises :class:`SettingsError` naming the offending key and its source.
    """
    environ = os.environ if environ is None else environ
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}

    if config_file is None and environ.get(f"{_ENV_PREFIX}CONFIG"):
        config_file = environ[f"{_ENV_PREFIX}CONFIG"]
    if config_file is not None:
        for key, value in _read_toml(Path(config_file)).items():
            values[key] = value
            sources[key] = f"config file {config_file}: key '{key}'"

    known_env = {env: name for name, env in ENV_NAMES.items()}
    for env, value in environ.items():
        if env in known_env:
            if value == "":
                continue
            values[known_env[env]] = value
            sources[known_env[env]] = f"environment variable {env}"
        elif env.startswith(_ENV_PREFIX) and env != f"{_ENV_PREFIX}CONFIG":
            raise SettingsError(
                f"unknown environment variable {env}; known ones are "
                + ", ".join(sorted(v for v in ENV_NAMES.values() if v.startswith(_ENV_PREFIX)))
            )

    for key, value in (flags or {}).items():
        if value is None:
            continue
        if key not in Settings.model_fields:
            raise SettingsError(f"unknown setting '{key}'")
        values[key] = value
        sources[key] = f"flag {_FLAGS.get(key, '--' + key.replace('_', '-'))}"

    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, sources)) from None
    if (settings.postgres_url is None) != (settings.postgres_admin_url is None):
        raise SettingsError(
            "your own PostgreSQL needs both DEEPLAKE_MCP_POSTGRES_URL (the role agents' SQL runs as) and "
            "DEEPLAKE_MCP_POSTGRES_ADMIN_URL (a superuser for set-up and bookkeeping)"
        )
    if settings.backend is Backend.CLOUD and not settings.api_key:
        raise SettingsError("backend 'cloud' needs an API key: set DEEPLAKE_API_KEY")
    _check_oauth(settings)
    if settings.embedder == "openai" and not (settings.embedding_url and settings.embedding_model):
        raise SettingsError(
            "embedder 'openai' needs DEEPLAKE_MCP_EMBEDDING_URL (e.g. http://localhost:11434/v1) "
            "and DEEPLAKE_MCP_EMBEDDING_MODEL"
        )
    return settings


def _check_oauth(settings: Settings) -> None:
    if settings.oauth_issuer and not settings.oauth_resource_url:
        raise SettingsError(
            "DEEPLAKE_MCP_OAUTH_ISSUER needs DEEPLAKE_MCP_OAUTH_RESOURCE_URL: the URL clients use for this "
            "endpoint, e.g. https://mcp.example.com/mcp (the token audience and RFC 9728 resource)"
        )
    stray = [key for key in ("oauth_jwks_url", "oauth_audience", "oauth_resource_url") if getattr(settings, key)]
    if stray and not settings.oauth_issuer:
        raise SettingsError(f"{ENV_NAMES[stray[0]]} has no effect without DEEPLAKE_MCP_OAUTH_ISSUER")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown key '{unknown[0]}'; known keys are "
            + ", ".join(sorted(Settings.model_fields))
        )
    return data


def _describe(exc: ValidationError, sources: Mapping[str, str]) -> str:
    problems = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else "?"
        where = sources.get(key, f"setting '{key}'")
        allowed = ""
        if key in ("access", "backend", "transport", "log_level", "embedder"):
            allowed = " (allowed: " + _choices(key) + ")"
        problems.append(f"{where}: {error['msg']}{allowed}")
    return "; ".join(problems)


def _choices(key: str) -> str:
    match key:
        case "access":
            return ", ".join(m.value for m in AccessMode)
        case "backend":
            return ", ".join(m.value for m in Backend)
        case "transport":
            return "stdio, http"
        case "embedder":
            return "local, openai, none"
        case _:
            return "DEBUG, INFO, WARNING, ERROR"
