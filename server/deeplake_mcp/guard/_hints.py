"""What to do instead: the second half of every NEVER refusal."""

from __future__ import annotations

__all__ = [
    "ADMIN",
    "COPY",
    "DISAGREE",
    "FOREIGN",
    "GUARD_FAILED",
    "ONE_STATEMENT",
    "PGLAST",
    "SESSION",
    "SYNTAX",
    "TRANSACTION",
    "UNKNOWN",
]

ONE_STATEMENT = "send exactly one statement per call"
TRANSACTION = (
    "each call runs as one statement in a transaction the server owns; "
    "send statements one per call, without BEGIN/COMMIT/ROLLBACK"
)
SESSION = (
    "settings, prepared statements, cursors and listeners would persist on the server's pooled "
    "connection; write the values into the statement itself"
)
COPY = "read rows with SELECT and add them with INSERT"
ADMIN = "server administration is not available through this server"
FOREIGN = "foreign servers and subscriptions reach other databases; they are not available here"
UNKNOWN = "read with SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN; write with INSERT, CREATE TABLE or CREATE INDEX"
SYNTAX = "send one valid PostgreSQL statement"
DISAGREE = "rewrite it in plain PostgreSQL; the guard refuses text that its two parsers read differently"
PGLAST = "install pglast, a dependency of deeplake-mcp: without PostgreSQL's parser the guard refuses everything"
GUARD_FAILED = "simplify the statement; if it is valid PostgreSQL, report it as a guard bug"
