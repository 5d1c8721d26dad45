"""OAuth scopes and access modes: what a token's scopes grant, and how modes compare."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from deeplake_mcp.guard import AccessMode

__all__ = ["ScopeMap", "granted_mode", "lower", "scopes_granting", "scopes_up_to"]

ScopeMap = Mapping[str, AccessMode]
"""Scope name -> the access mode it grants (``Settings.oauth_scopes``)."""

_ORDER = tuple(AccessMode)  # read-only < read-write < destructive


def _rank(mode: AccessMode) -> int:
    return _ORDER.index(mode)


def lower(a: AccessMode, b: AccessMode) -> AccessMode:
    """The more restrictive of two modes."""
    return min(a, b, key=_rank)


def granted_mode(scopes: Iterable[str], scope_map: ScopeMap) -> AccessMode | None:
    """The highest mode any of ``scopes`` grants; ``None`` when none of them is a known scope."""
    modes = [scope_map[scope] for scope in scopes if scope in scope_map]
    return max(modes, key=_rank) if modes else None


def scopes_up_to(mode: AccessMode, scope_map: ScopeMap) -> list[str]:
    """The scopes that grant ``mode`` or less: what is worth asking for on a server running with ``mode``."""
    return [scope for scope, granted in scope_map.items() if _rank(granted) <= _rank(mode)]


def scopes_granting(mode: AccessMode, scope_map: ScopeMap) -> list[str]:
    """The scopes that grant ``mode`` or more."""
    return [scope for scope, granted in scope_map.items() if _rank(granted) >= _rank(mode)]
