"""DEEPLAKE_MCP_READ_FUNCTIONS: an operator widens the read list, never past the lists or the internal schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.guard import AccessMode, Policy, StatementClass, classify, parse_read_functions
from deeplake_mcp.settings import SettingsError, load_settings
from mcp_helpers import error_text, payload, settings_for

R, D, X = StatementClass.READ, StatementClass.DESTRUCTIVE, StatementClass.NEVER


def test_parse_normalises() -> None:
    assert parse_read_functions(" pg_total_relation_size, My_Schema.My_Fn ,,") == frozenset(
        {"pg_total_relation_size", "my_schema.my_fn"}
    )
    assert parse_read_functions(["a", " b "]) == frozenset({"a", "b"})
    assert parse_read_functions("") == frozenset()


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("setseed", "on the guard's never list"),
        ("pg_catalog.pg_sleep", "on the guard's never list"),
        ("dblink_exec", "on the guard's never list"),
        ("ts_rewrite", "two-argument form runs SQL"),
        ("nextval", "functions that write"),
        ("pg_stat_reset_shared", "destructive functions"),
        ("deeplake_sync_table", "refreshes a table"),
        ("deeplake_compat.exact_row_count", "internal schema"),
        ("deeplake_internal.anything", "internal schema"),
        ("bm25_score", "internal helper of this server (deeplake_compat.bm25_score)"),
        ("two words", "write a function name"),
        ("a.b.c", "write a function name"),
        ("f()", "write a function name"),
    ],
)
def test_what_can_never_be_a_read(entry: str, problem: str) -> None:
    with pytest.raises(ValueError, match="cannot be declared a read function") as info:
        parse_read_functions(entry)
    assert problem in str(info.value)
    with pytest.raises(ValueError, match="cannot be declared a read function"):
        Policy(AccessMode.READ_ONLY, frozenset({entry}))


def test_documented_deeplake_functions_may_be_listed() -> None:
    assert parse_read_functions("deeplake_cosine_similarity") == frozenset({"deeplake_cosine_similarity"})


@pytest.mark.parametrize(
    ("reads", "sql", "cls"),
    [
        ((), "SELECT pg_total_relation_size('docs')", D),
        (("pg_total_relation_size",), "SELECT pg_total_relation_size('docs')", R),
        (("pg_total_relation_size",), "SELECT pg_catalog.pg_total_relation_size('docs')", R),
        (("pg_catalog.pg_total_relation_size",), "SELECT pg_total_relation_size('docs')", D),
        (("pg_catalog.pg_total_relation_size",), "SELECT pg_catalog.pg_total_relation_size('docs')", R),
        (("my_fn",), "SELECT my_fn(1), ws.my_fn(2)", R),
        (("ws.my_fn",), "SELECT ws.my_fn(2)", R),
        (("ws.my_fn",), "SELECT my_fn(1)", D),
        (("my_fn",), "SELECT deeplake_compat.my_fn(1)", D),
        (("my_fn",), "SELECT my_fn(1), other_fn(2)", D),
        (("my_fn",), 'SELECT "MY_FN"(1)', D),
        (("my_fn",), "SELECT my_fn(setseed(0.5))", X),
        (("my_fn",), "INSERT INTO t SELECT my_fn(1)", StatementClass.WRITE),
    ],
)
def test_reads_widen_only_what_they_name(reads: tuple[str, ...], sql: str, cls: StatementClass) -> None:
    policy = Policy(AccessMode.READ_ONLY, frozenset(reads))
    assert policy.classify(sql).cls is cls
    assert policy.check(sql).allowed is (cls is R)
    assert classify(sql).cls >= cls  # the defaults never widen


def test_filters_use_the_policys_reads() -> None:
    assert not Policy(AccessMode.READ_ONLY).check_filter("my_fn(x) > 1").allowed
    verdict = Policy(AccessMode.READ_ONLY).check_filter("my_fn(x) > 1")
    assert "DEEPLAKE_MCP_READ_FUNCTIONS=my_fn" in verdict.reason
    assert Policy(AccessMode.READ_ONLY, frozenset({"my_fn"})).check_filter("my_fn(x) > 1").allowed


def test_refusal_says_how_to_allow() -> None:
    verdict = Policy(AccessMode.READ_ONLY).check("SELECT brin_summarize_new_values('idx')")
    assert verdict.reason == (
        "function brin_summarize_new_values(1 argument) (volatile: it may change state) is destructive; "
        "this server runs with --access read-only; an operator can enable destructive access "
        "(--access destructive), or allow a known-safe function as a read with "
        "DEEPLAKE_MCP_READ_FUNCTIONS=brin_summarize_new_values"
    )
    internal = Policy(AccessMode.READ_WRITE).check("SELECT deeplake_compat.ann_estimate('x', 'y')")
    assert "internal schema deeplake_compat" in internal.reason and "--access destructive" in internal.reason
    assert "DEEPLAKE_MCP_READ_FUNCTIONS" not in internal.reason
    listed = Policy(AccessMode.READ_ONLY).check("SELECT pg_stat_reset()")
    assert "DEEPLAKE_MCP_READ_FUNCTIONS" not in listed.reason
    never = Policy(AccessMode.DESTRUCTIVE).check("SELECT setseed(0.5)")
    assert never.reason.startswith("function setseed(1 argument) (on the guard's never list) is never allowed")
    assert "DEEPLAKE_MCP_READ_FUNCTIONS" not in never.reason


def test_setting_from_environment_and_file(tmp_path: Path) -> None:
    env = {"DEEPLAKE_MCP_READ_FUNCTIONS": "pg_total_relation_size, Ws.Fn"}
    assert load_settings(environ=env).read_functions == ("pg_total_relation_size", "ws.fn")
    config = tmp_path / "c.toml"
    config.write_text('read_functions = ["lo_get"]\n', encoding="utf-8")
    assert load_settings(environ={}, config_file=config).read_functions == ("lo_get",)
    assert load_settings(environ={}).read_functions == ()


@pytest.mark.parametrize("value", ["setseed", "deeplake_compat.bm25_score", "hybrid_score"])
def test_setting_refused_at_start_up(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"DEEPLAKE_MCP_READ_FUNCTIONS": value})
    message = str(info.value)
    assert message.startswith("environment variable DEEPLAKE_MCP_READ_FUNCTIONS: ")
    assert f"'{value}' cannot be declared a read function" in message


@pytest.mark.anyio
async def test_server_info_and_query_use_the_setting(data_dir: Path) -> None:
    sql = "SELECT pg_total_relation_size('pg_catalog.pg_class') > 0 AS sized"
    async with Client(build_server(settings_for(data_dir, access="read-only"))) as client:
        info = payload(await client.call_tool("server_info", {}))
        assert info["read_functions"] == []
        refused = await client.call_tool("query", {"sql": sql})
        assert refused.is_error and "DEEPLAKE_MCP_READ_FUNCTIONS=pg_total_relation_size" in error_text(refused)
    widened = settings_for(data_dir, access="read-only", read_functions="pg_total_relation_size,Ws.Fn")
    async with Client(build_server(widened)) as client:
        info = payload(await client.call_tool("server_info", {}))
        assert info["read_functions"] == ["pg_total_relation_size", "ws.fn"]
        assert payload(await client.call_tool("query", {"sql": sql}))["rows"] == [[True]]
