"""The guard's public surface: names, enums, records, and the wording of verdicts."""

from __future__ import annotations

import dataclasses

import pytest

import deeplake_mcp.guard as guard
from deeplake_mcp.guard import (
    AccessMode,
    Classification,
    Policy,
    StatementClass,
    Verdict,
    check_filter,
    classify,
    run_check_sql,
)

R, W, D, X = StatementClass.READ, StatementClass.WRITE, StatementClass.DESTRUCTIVE, StatementClass.NEVER


def test_all_matches_public_names() -> None:
    public = sorted(name for name in vars(guard) if not name.startswith("_"))
    # sorted as ruff's RUF022 wants: constants, then classes, then functions
    assert guard.__all__ == sorted(guard.__all__, key=lambda name: (not name.isupper(), not name[0].isupper(), name))
    assert set(guard.__all__) == {
        "DEFAULT_ACCESS",
        "AccessMode",
        "Classification",
        "HubSource",
        "Policy",
        "StatementClass",
        "Verdict",
        "check_filter",
        "check_tql",
        "classify",
        "hub_sources",
        "parse_read_functions",
        "run_check_sql",
    }
    assert set(public) == set(guard.__all__)
    assert callable(check_filter) and callable(run_check_sql)


def test_statement_class_order_and_labels() -> None:
    assert R < W < D < X
    assert [int(cls) for cls in StatementClass] == [0, 1, 2, 3]
    assert [cls.label for cls in StatementClass] == ["read", "write", "destructive", "never"]


def test_access_mode_values() -> None:
    assert [mode.value for mode in AccessMode] == ["read-only", "read-write", "destructive"]
    assert AccessMode("read-write") is AccessMode.READ_WRITE
    assert isinstance(AccessMode.READ_ONLY, str)


def test_records_are_frozen() -> None:
    classification = classify("SELECT 1")
    verdict = Policy(AccessMode.READ_ONLY).check("SELECT 1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        classification.cls = X  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.allowed = False  # type: ignore[misc]


def test_classification_fields() -> None:
    assert classify("SELECT 1") == Classification(R, "SELECT statement", "SELECT")
    assert classify("DELETE FROM t") == Classification(D, "DELETE statement", "DELETE")
    assert classify("CREATE INDEX i ON t (c)").statement == "CREATE INDEX"
    assert classify("SELECT pg_sleep(1)").reason == "function pg_sleep(1 argument) (on the guard's never list)"
    assert classify("SELECT 1; SELECT 2").reason == "stacked statements (2 statements)"
    assert classify("-- only a comment").statement == ""
    assert classify("EXPLAIN DELETE FROM t") == Classification(D, "EXPLAIN of DELETE statement", "EXPLAIN")


@pytest.mark.parametrize(
    ("mode", "allowed"),
    [
        (AccessMode.READ_ONLY, (R,)),
        (AccessMode.READ_WRITE, (R, W)),
        (AccessMode.DESTRUCTIVE, (R, W, D)),
    ],
)
def test_policy_classes(mode: AccessMode, allowed: tuple[StatementClass, ...]) -> None:
    policy = Policy(mode)
    assert policy.allowed_classes == allowed
    assert [policy.allows(cls) for cls in StatementClass] == [cls in allowed for cls in StatementClass]
    assert not policy.allows(X)


def test_verdict_to_json() -> None:
    assert Verdict(True, R, "read (SELECT)").to_json() == {
        "allowed": True,
        "class": "read",
        "reason": "read (SELECT)",
    }
    assert Verdict(False, X, "x").to_json() == {"allowed": False, "class": "never", "reason": "x"}


def test_reason_blocked_by_mode() -> None:
    delete = Policy(AccessMode.READ_WRITE).check("DELETE FROM docs WHERE id = 1")
    assert delete == Verdict(
        False,
        D,
        "DELETE is destructive; this server runs with --access read-write; "
        "an operator can enable destructive access (--access destructive)",
    )
    insert = Policy(AccessMode.READ_ONLY).check("INSERT INTO docs (id) VALUES (1)")
    assert insert.reason == (
        "INSERT is a write; this server runs with --access read-only; "
        "an operator can enable writes (--access read-write)"
    )
    setval = Policy(AccessMode.READ_ONLY).check("SELECT setval('s', 1)")
    assert setval.reason == (
        "function setval(2 arguments) (on the guard's list of functions that write) is a write; "
        "this server runs with --access read-only; an operator can enable writes (--access read-write)"
    )


def test_reason_never() -> None:
    commit = Policy(AccessMode.DESTRUCTIVE).check("COMMIT")
    assert commit.cls is X and not commit.allowed
    assert commit.reason.startswith("transaction control (COMMIT) is never allowed in any access mode: ")
    assert "one per call" in commit.reason
    sleep = Policy(AccessMode.DESTRUCTIVE).check("SELECT pg_sleep(1)")
    assert sleep.reason.startswith(
        "function pg_sleep(1 argument) (on the guard's never list) is never allowed in any access mode: "
    )
    stacked = Policy(AccessMode.DESTRUCTIVE).check("DROP TABLE a; DROP TABLE b")
    assert stacked.reason == (
        "a call with 2 statements is never allowed in any access mode: send exactly one statement per call"
    )


def test_reason_allowed() -> None:
    assert Policy(AccessMode.READ_ONLY).check("SELECT 1").reason == "read (SELECT)"
    assert Policy(AccessMode.READ_ONLY).check("EXPLAIN SELECT 1").reason == "read (EXPLAIN SELECT)"
    assert Policy(AccessMode.READ_WRITE).check("INSERT INTO t VALUES (1)").reason == "write (INSERT)"
    assert Policy(AccessMode.DESTRUCTIVE).check("SELECT pg_stat_reset()").reason == (
        "destructive (SELECT: function pg_stat_reset(0 arguments) (on the guard's list of destructive functions))"
    )


def test_decide_uses_the_classification() -> None:
    policy = Policy(AccessMode.READ_WRITE)
    classification = classify("INSERT INTO t VALUES (1)")
    assert policy.decide(classification) == policy.check("INSERT INTO t VALUES (1)")


def test_fail_closed_on_internal_error() -> None:
    class Hostile(str):
        """A string whose length cannot be taken: the guard must still answer."""

        def __len__(self) -> int:
            raise RuntimeError("boom")

    found = classify(Hostile("SELECT 1"))
    assert found.cls is X
    assert found.reason == "the guard could not analyse this statement"
    assert check_filter(Hostile("x = 1")).reason == "the guard could not analyse this statement"
    assert not Policy(AccessMode.DESTRUCTIVE).check(Hostile("SELECT 1")).allowed


def test_a_token_that_grants_less_is_named_in_the_refusal() -> None:
    caller = Policy(AccessMode.READ_ONLY, server_mode=AccessMode.READ_WRITE)
    assert caller.check("INSERT INTO t VALUES (1)").reason == (
        "INSERT is a write; this request's access token grants read-only access; a token that grants read-write may"
    )
    assert "an operator can enable destructive access (--access destructive)" in caller.check("DELETE FROM t").reason
