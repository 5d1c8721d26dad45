"""Function lists (policy 1.4), languages and extensions, and name normalisation."""

from __future__ import annotations

import re

from ._classes import Finding, StatementClass, never

__all__ = [
    "TRUSTED_LANGUAGES",
    "X_EXTENSIONS",
    "body_finding",
    "decode_unicode_identifier",
    "language_finding",
    "name_finding",
    "normalise_name",
    "words",
]

_W, _D, _X = StatementClass.WRITE, StatementClass.DESTRUCTIVE, StatementClass.NEVER

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
        "it runs SQL from a string that the guard cannot check; run the inner query directly",
        (
            "query_to_xml",
            "query_to_xmlschema",
            "query_to_xml_and_xmlschema",
            "cursor_to_xml",
            "cursor_to_xmlschema",
            "ts_stat",
            "ts_rewrite",
        ),
        (),
    ),
)

_EXACT: dict[str, tuple[StatementClass, str]] = {
    **{
        name: (_W, "")
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
        name: (_D, "")
        for name in (
            "lo_unlink",
            "lo_truncate",
            "lo_truncate64",
            "pg_stat_statements_reset",
            "pg_import_system_collations",
        )
    },
    **{name: (_X, hint) for hint, names, _ in _X_GROUPS for name in names},
}
_PREFIXES: tuple[tuple[str, StatementClass, str], ...] = (
    ("pg_stat_reset", _D, ""),
    *((prefix, _X, hint) for hint, _, prefixes in _X_GROUPS for prefix in prefixes),
)
_PREFIX_STARTS = tuple({prefix[:3] for prefix, _, _ in _PREFIXES})

TRUSTED_LANGUAGES = frozenset({"sql", "plpgsql", "plperl", "pltcl", "plv8", "pllua", "pljava"})
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

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
# In bodies, '$' also separates words, so dollar-quote tags cannot hide a name: $x$pg_sleep.
_BODY_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNICODE_ESCAPE = re.compile(r"u&", re.IGNORECASE)


def name_finding(name: str, where: str = "") -> Finding | None:
    """Classify one normalised (lower-case) identifier against the function lists."""
    entry = _EXACT.get(name)
    if entry is None and name.startswith(_PREFIX_STARTS):
        entry = next(((cls, hint) for prefix, cls, hint in _PREFIXES if name.startswith(prefix)), None)
    if entry is None:
        return None
    cls, hint = entry
    return Finding(cls, f"function {name}(){where}", f"{name}()", hint)


def body_finding(body: str, where: str) -> Finding | None:
    """Scan the text of a DO or function body for X function names (word match)."""
    if _UNICODE_ESCAPE.search(body):
        return never(
            f"Unicode escape (U&) {where}",
            "write names and strings in the body without U& escapes",
        )
    for word in _BODY_WORD.findall(body):
        found = name_finding(word.lower(), f" {where}")
        if found is not None and found.cls is _X:
            return found
    return None


def language_finding(language: str) -> Finding | None:
    """X when a function or DO block uses a language outside the trusted list."""
    if language in TRUSTED_LANGUAGES:
        return None
    return never(
        f"LANGUAGE {language}",
        "C, internal and untrusted languages reach the host; use LANGUAGE sql or plpgsql",
        subject=f"code in LANGUAGE {language}",
    )


def normalise_name(name: str) -> str:
    """Lower-case a bare or double-quoted name and keep its last dotted component."""
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1].replace('""', '"')
    return name.lower().rsplit(".", 1)[-1]


def decode_unicode_identifier(body: str, escape: str = "\\") -> str:
    """Decode the escapes of a ``U&"..."`` identifier body; raise ValueError if malformed."""
    if len(escape) != 1 or escape in "+'\" \t\r\n" or escape in "0123456789abcdefABCDEF":
        raise ValueError(f"invalid UESCAPE character {escape!r}")
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != escape:
            out.append(char)
            i += 1
        elif body[i + 1 : i + 2] == escape:
            out.append(escape)
            i += 2
        else:
            width = 6 if body[i + 1 : i + 2] == "+" else 4
            start = i + 2 if width == 6 else i + 1
            digits = body[start : start + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("invalid Unicode escape")
            out.append(chr(int(digits, 16)))
            i = start + width
    return "".join(out)


def words(text: str) -> list[str]:
    """The identifier-like words in ``text``, lower-cased."""
    return [word.lower() for word in _WORD.findall(text)]
