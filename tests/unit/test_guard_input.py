"""Input hygiene and resource limits: bad input is class NEVER, never an exception."""

from __future__ import annotations

import time

import pytest

from deeplake_mcp.guard import AccessMode, Policy, StatementClass, classify

X = StatementClass.NEVER
LIMIT = 256 * 1024


@pytest.mark.parametrize("value", [None, 123, 1.5, b"SELECT 1", bytearray(b"SELECT 1"), ["SELECT 1"], object()])
def test_non_string(value: object) -> None:
    found = classify(value)
    assert found.cls is X
    assert found.reason.startswith("input is not a string")
    assert not Policy(AccessMode.DESTRUCTIVE).check(value).allowed


@pytest.mark.parametrize(
    "sql",
    ["", " ", "\n\t\r\n", "-- SELECT 1", "/* SELECT 1 */", "-- a\n/* b */\n", ";", " ; ;", "/* x */ ;"],
)
def test_no_statement(sql: str) -> None:
    found = classify(sql)
    assert found.cls is X
    assert found.reason.startswith("no SQL statement")


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"])
def test_control_characters(char: str) -> None:
    for sql in (f"SELECT 1{char}", f"SELECT '{char}'", f"-- {char}\nSELECT 1"):
        found = classify(sql)
        assert found.cls is X
        assert found.reason.startswith(f"control character U+{ord(char):04X}")


def test_tab_lf_cr_are_allowed() -> None:
    assert classify("SELECT\t1\r\n,\r2\n").cls is StatementClass.READ


def test_lone_surrogate() -> None:
    assert classify("SELECT '\ud800'").cls is X


def test_size_limit_in_bytes() -> None:
    filler = "SELECT '" + "a" * (LIMIT - len("SELECT ''")) + "'"
    assert len(filler.encode()) == LIMIT
    assert classify(filler).cls is StatementClass.READ
    assert classify(filler + " ").reason == "input larger than 256 KiB"
    multibyte = "SELECT '" + "é" * (LIMIT // 2) + "'"
    assert len(multibyte) < LIMIT < len(multibyte.encode())
    assert classify(multibyte).reason == "input larger than 256 KiB"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "'x'," * 60000 + "1",
        "SELECT " + "'" * 200000,
        "SELECT " + "$$" * 100000 + "$",
        "SELECT " + "/*" * 100000,
        "SELECT 1 " + "-- x\n" * 40000,
        "SELECT " + "(" * 100 + "1" + ")" * 100 + "+(" * 50000,
        "SELECT " + "a " * 120000,
        "SELECT " + '"' * 200001,
        "SELECT " + "LEFT " + " " * 200000 + "x",
        "SELECT " + "ARRAY [1" + " " * 200000 + "]",
    ],
    ids=[
        "many-literals",
        "quotes",
        "dollars",
        "comment-openers",
        "line-comments",
        "parens",
        "words",
        "double-quotes",
        "join-prefix",
        "bracket",
    ],
)
def test_adversarial_input_is_fast(sql: str) -> None:
    start = time.perf_counter()
    found = classify(sql)
    assert time.perf_counter() - start < 5
    assert found.reason != "the guard could not analyse this statement"
