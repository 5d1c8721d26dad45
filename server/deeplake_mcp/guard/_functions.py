"""The function lists (policy 1.4 and 2.1.5), languages, extensions and body scanning."""

from __future__ import annotations

import re
from typing import NamedTuple

from ._classes import Finding, StatementClass, never

__all__ = [
    "HARMLESS_VOLATILE",
    "INTERNAL_SCHEMAS",
    "X_EXTENSIONS",
    "Listed",
    "body_finding",
    "language_finding",
    "listed",
]

_W, _D, _X = StatementClass.WRITE, StatementClass.DESTRUCTIVE, StatementClass.NEVER

INTERNAL_SCHEMAS = frozenset({"deeplake_compat", "deeplake_internal"})
"""The server's own schemas: Deep Lake compatibility objects and bookkeeping tables."""

HARMLESS_VOLATILE = frozenset(
    {
        "random",
        "random_normal",
        "gen_random_uuid",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "statement_timestamp",
    }
)
"""Volatile built-ins that only compute a value: reads (policy 2.1.3)."""

_HIDDEN_SQL = "it runs SQL from a string that the guard cannot check; run the inner query directly"

# Each X group: (hint, names, name prefixes).
_X_GROUPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "reading, listing or writing files on the database host is not available through this server",
        (
            "pg_read_file",
            "pg_read_binary_file",
            "pg_stat_file",
            "lo_import",
            "lo_export",
            "pg_file_write",
            "pg_file_rename",
            "pg_file_unlink",
            "pg_file_sync",
            "pg_logdir_ls",
        ),
        ("pg_ls_",),
    ),
    (
        "outbound connections to other databases are not available through this server",
        (),
        ("dblink",),
    ),
    (
        "server and cluster administration is not available through this server",
        (
            "pg_terminate_backend",
            "pg_cancel_backend",
            "pg_reload_conf",
            "pg_rotate_logfile",
            "pg_rotate_logfile_old",
            "pg_promote",
            "pg_switch_wal",
            "pg_create_restore_point",
            "pg_backup_start",
            "pg_backup_stop",
            "pg_start_backup",
            "pg_stop_backup",
            "pg_create_physical_replication_slot",
            "pg_create_logical_replication_slot",
            "pg_drop_replication_slot",
            "pg_copy_physical_replication_slot",
            "pg_copy_logical_replication_slot",
            "pg_replication_slot_advance",
            "pg_sync_replication_slots",
            "pg_logical_emit_message",
            "pg_log_backend_memory_contexts",
            "pg_replication_origin_create",
            "pg_replication_origin_drop",
            "pg_replication_origin_advance",
            "pg_replication_origin_session_setup",
            "pg_replication_origin_session_reset",
            "pg_replication_origin_xact_setup",
            "pg_replication_origin_xact_reset",
        ),
        ("pg_wal_replay_", "pg_logical_slot_", "binary_upgrade_"),
    ),
    (
        "it would hold the pooled connection or a lock beyond this call; remove it",
        ("pg_sleep", "pg_sleep_for", "pg_sleep_until"),
        ("pg_advisory", "pg_try_advisory"),
    ),
    (
        "settings would persist on the server's pooled connection; use current_setting() to read one",
        ("set_config",),
        (),
    ),
    (
        "the random seed would outlive this call on the server's pooled connection; remove setseed()",
        ("setseed",),
        (),
    ),
    (
        _HIDDEN_SQL,
        (
            "query_to_xml",
            "query_to_xmlschema",
            "query_to_xml_and_xmlschema",
            "cursor_to_xml",
            "cursor_to_xmlschema",
            "ts_stat",
        ),
        (),
    ),
)


class Listed(NamedTuple):
    """A function on one of the lists: its class, which list, and (for X) what to do instead."""

    cls: StatementClass
    why: str
    hint: str = ""


_WRITES = Listed(_W, "on the guard's list of functions that write")
_DESTROYS = Listed(_D, "on the guard's list of destructive functions")
_EXACT: dict[str, Listed] = {
    **{
        name: _WRITES
        for name in (
            "nextval",
            "setval",
            "lo_create",
            "lo_creat",
            "lo_from_bytea",
            "lo_put",
            "lowrite",
            "txid_current",
            "pg_current_xact_id",
            "pg_notify",
        )
    },
    **{
        name: _DESTROYS
        for name in (
            "lo_unlink",
            "lo_truncate",
            "lo_truncate64",
            "pg_stat_statements_reset",
            "pg_import_system_collations",
        )
    },
    # Deep Lake's documented functions that change state (deeplake-api.md §7.1, §7.6).
    # deeplake_sync_table rewrites what a table shows from its dataset, like REFRESH MATERIALIZED
    # VIEW (D). create_deeplake_table is more than an additive CREATE TABLE: it binds a new table
    # to a dataset path the caller picks, which can be existing storage outside the workspace (D).
    "deeplake_sync_table": Listed(_D, "a Deep Lake function that refreshes a table from its dataset"),
    "create_deeplake_table": Listed(_D, "a Deep Lake function that binds a table to a dataset path"),
    **{name: Listed(_X, "on the guard's never list", hint) for hint, names, _ in _X_GROUPS for name in names},
}
_PREFIXES: tuple[tuple[str, Listed], ...] = (
    ("pg_stat_reset", _DESTROYS),
    *(
        (prefix, Listed(_X, "on the guard's never list", hint))
        for hint, _, prefixes in _X_GROUPS
        for prefix in prefixes
    ),
)
_PREFIX_STARTS = tuple({prefix[:3] for prefix, _ in _PREFIXES})
# ts_rewrite(query, 'SELECT …') runs the SQL text of its second argument; the 3-argument form does not.
_TS_REWRITE_SQL = Listed(_X, "the two-argument form runs SQL from a string", _HIDDEN_SQL)

_TRUSTED_LANGUAGES = frozenset({"sql", "plpgsql", "plperl", "pltcl", "plv8", "pllua", "pljava"})
"""Languages a function or DO block may use; anything else (c, internal, untrusted PLs) is X."""

X_EXTENSIONS = frozenset(
    {
        "dblink",
        "adminpack",
        "file_fdw",
        "postgres_fdw",
        "lo",
        "plpython3u",
        "plpythonu",
        "plpython2u",
        "plperlu",
        "pltclu",
        "plsh",
        "plr",
        "pljavau",
        "plluau",
    }
)
"""Extensions that give access to host files, other servers or the host itself."""

# In bodies, '$' also separates words, so dollar-quote tags cannot hide a name: $x$pg_sleep.
_BODY_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNICODE_ESCAPE = re.compile(r"u&", re.IGNORECASE)


def listed(name: str, arity: int | None) -> Listed | None:
    """The list entry of a lower-case function name called with ``arity`` arguments (None: unknown)."""
    if name == "ts_rewrite":
        return None if arity == 3 else _TS_REWRITE_SQL
    entry = _EXACT.get(name)
    if entry is None and name.startswith(_PREFIX_STARTS):
        entry = next((found for prefix, found in _PREFIXES if name.startswith(prefix)), None)
    return entry


def body_finding(body: str, where: str) -> Finding | None:
    """Scan the text of a DO or function body for names on the never list (word match)."""
    if _UNICODE_ESCAPE.search(body):
        return never(
            f"Unicode escape (U&) {where}",
            "write names and strings in the body without U& escapes",
        )
    for word in _BODY_WORD.findall(body):
        entry = listed(word.lower(), None)
        if entry is not None and entry.cls is _X:
            return never(f"function {word.lower()}() {where}", entry.hint, subject=f"{word.lower()}() {where}")
    return None


def language_finding(language: str) -> Finding | None:
    """X when a function or DO block uses a language outside the trusted list."""
    if language in _TRUSTED_LANGUAGES:
        return None
    return never(
        f"LANGUAGE {language}",
        "C, internal and untrusted languages reach the host; use LANGUAGE sql or plpgsql",
        subject=f"code in LANGUAGE {language}",
    )
