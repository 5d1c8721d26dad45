"""The redaction layer: what it masks, what it leaves alone, and log records made safe at creation."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from deeplake_mcp import logs
from deeplake_mcp.app import build_server
from deeplake_mcp.middleware import redact_responses
from deeplake_mcp.redact import MASK, Recurring, Redactor, protect, redact, redact_value, secret_values
from deeplake_mcp.settings import load_settings

KEY = "dl-secret-KEY-0123456789"
PG_URL = "postgresql://deeplake_query:pa%40ss-w0rd9@db.internal/deeplake"
PG_PASSWORD = "pa@ss-w0rd9"
R = Redactor([KEY, PG_URL])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok for Bearer sk-test-SECRET", "ok for Bearer ***"),
        ("authorization: bearer t0ken-for-tests", "authorization: bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("[(b'authorization', b'Bearer abc.def-123')]", "[(b'authorization', b'Bearer ***')]"),
        ('{"Authorization": "Token abcdef"}', '{"Authorization": "Token ***"}'),
        ("GET /v1/x?api_key=abc123&page=2", "GET /v1/x?api_key=***&page=2"),
        ("https://h/p?access_token=zzz", "https://h/p?access_token=***"),
        ("host=db password=hunter2 user=u", "host=db password=*** user=u"),
        ("X-Api-Key: 0123abcd", "X-Api-Key: ***"),
        ("api_key: hunter2", "api_key: ***"),
        ('{"client_secret": "abc", "n": 1}', '{"client_secret": "***", "n": 1}'),
        ("{'password': 'p'}", "{'password': '***'}"),
        ('{\\"token\\": \\"abc\\"}', '{\\"token\\": \\"***\\"}'),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl", MASK),
        ("keys AKIAIOSFODNN7EXAMPLE ghp_abcdefghijklmnopqrstuvwx sk-proj-abcdefgh", "keys *** *** ***"),
        (f"the key {KEY}!", "the key ***!"),
        (f"connect {PG_URL} failed", "connect *** failed"),
        ("user=deeplake_query password='pa@ss-w0rd9' host=db", "user=deeplake_query password='***' host=db"),
        ("postgresql://deeplake_query:pa@ss-w0rd9@other/x", "postgresql://deeplake_query:***@other/x"),
        (f"password {PG_PASSWORD} and pa%40ss-w0rd9", "password *** and ***"),
    ],
)
def test_credentials_are_masked(text: str, expected: str) -> None:
    assert R.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a row about a token, a password and an api key",
        "the bearer bonds were sold; Bearer token; bearer of news",
        '{"token": 5, "max_tokens": 100, "token_count": 3, "tokens": ["a"], "password": null}',
        "tokenizer: bert; secret sauce; passwords: 3 rotated",
        "https://example.com/docs?page=2&q=keyword",
        "task-force; skiing sk-; eyJ alone",
        "SELECT id, token FROM sessions WHERE expires < now()",
        "The Deep Lake API key is invalid or expired (HTTP 401); set a valid DEEPLAKE_API_KEY: bad token",
        "the API refused authorization: missing scope; password: required",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert R.text(text) == text


def test_secret_spellings_are_masked() -> None:
    odd = 'pa"ss\\wörd-1234'
    r = Redactor([odd])
    assert r.text(odd) == MASK
    assert r.text(json.dumps(odd)[1:-1]) == MASK  # JSON-escaped, ASCII
    assert r.text(json.dumps(odd, ensure_ascii=False)[1:-1]) == MASK
    assert r.text("pa%22ss%5Cw%C3%B6rd-1234") == MASK  # URL-encoded


def test_short_secrets_are_masked_only_in_credential_positions() -> None:
    r = Redactor(["abc", "postgresql://u:pw@h/db"])
    assert r.text("abc and pw") == "abc and pw"
    assert r.text("password=abc") == "password=***"


def test_values_are_walked_and_json_stays_json() -> None:
    result = {
        "content": [{"type": "text", "text": json.dumps({"rows": [[KEY, "Bearer t0ken-123", 7]], "token": 5})}],
        "structuredContent": {"rows": [[KEY, "Bearer t0ken-123", 7]], "n": 1.5, "ok": True, "none": None},
    }
    clean = R.value(result)
    assert KEY not in json.dumps(clean) and "t0ken-123" not in json.dumps(clean)
    assert json.loads(clean["content"][0]["text"]) == {"rows": [["***", "Bearer ***", 7]], "token": 5}
    assert clean["structuredContent"] == {"rows": [["***", "Bearer ***", 7]], "n": 1.5, "ok": True, "none": None}


def test_lists_of_numbers_pass_whole_and_a_list_inside_a_row_is_walked() -> None:
    numbers = [1, 2.5, None, True]
    clean = R.value({"rows": [numbers, [3, [KEY, 4]], [5, {"k": KEY}]]})
    assert clean == {"rows": [numbers, [3, [MASK, 4]], [5, {"k": MASK}]]}
    assert clean["rows"][0] is numbers


def test_a_recurring_value_is_redacted_again_when_it_or_the_secrets_change() -> None:
    recurring = Recurring()
    stamp = {"serverInfo": {"name": "deeplake-mcp", "note": "Bearer abc.def-123"}}
    first = recurring(stamp)
    assert first == {"serverInfo": {"name": "deeplake-mcp", "note": "Bearer ***"}}
    assert recurring(copy.deepcopy(stamp)) is first  # an equal value: the result already made
    changed = {"serverInfo": {"name": "name-becomes-secret-7"}}
    assert recurring(changed) == changed
    protect("name-becomes-secret-7")  # the process-wide redactor learns a secret: redacted anew
    assert recurring(changed) == {"serverInfo": {"name": MASK}}


@pytest.mark.anyio
async def test_responses_leave_redacted_with_their_meta() -> None:
    protect(KEY)
    response = {
        "content": [{"type": "text", "text": f"value {KEY}"}],
        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "deeplake-mcp", "title": f"title {KEY}"}},
    }

    async def call_next(_ctx: Any) -> Any:
        return copy.deepcopy(response)

    for _ in range(2):  # the second response's _meta comes from the first's redaction
        clean = await redact_responses(None, call_next)  # type: ignore[arg-type]  # the context is only passed on
        assert clean == {
            "content": [{"type": "text", "text": "value ***"}],
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "deeplake-mcp", "title": "title ***"}},
        }


def test_settings_register_every_secret() -> None:
    settings = load_settings(
        {"backend": "cloud"},
        environ={
            "DEEPLAKE_API_KEY": "api-KEY-registered-1",
            "DEEPLAKE_MCP_HTTP_TOKEN": "http-TOKEN-registered-2",
            "DEEPLAKE_MCP_EMBEDDING_API_KEY": "emb-KEY-registered-3",
            "DEEPLAKE_MCP_POSTGRES_URL": "postgresql://q:query-PW-registered-4@db/x",
            "DEEPLAKE_MCP_POSTGRES_ADMIN_URL": "postgresql://a:admin-PW-registered-5@db/x",
        },
    )
    assert len(secret_values(settings)) == 5
    text = " ".join(["api-KEY-registered-1 http-TOKEN-registered-2 emb-KEY-registered-3", "query-PW-registered-4"])
    assert redact(text + " admin-PW-registered-5") == " ".join([MASK] * 5)
    assert redact_value({"k": ["http-TOKEN-registered-2"]}) == {"k": [MASK]}


def test_redact_masks_extra_secrets_too() -> None:
    assert redact("own key zz-own-key-zz", "zz-own-key-zz") == "own key ***"
    protect(None, "")  # nothing to add: no error, no change
    assert redact("plain") == "plain"


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("httpx", logging.DEBUG, __file__, 1, msg, args, exc_info)


def test_log_records_are_redacted_in_message_args_and_traceback() -> None:
    protect(KEY)
    record = _record("GET %s answered %d: %s", "/x?token=abc", 401, f"bad key {KEY}")
    logs.redact_record(record)
    assert record.getMessage() == "GET /x?token=*** answered 401: bad key ***"
    assert record.args == ("/x?token=***", 401, "bad key ***")  # still structured, for formatters that read args
    try:
        raise RuntimeError(f"upstream said Authorization: Bearer {KEY}")
    except RuntimeError as exc:
        record = _record("failed", exc=exc)
    logs.redact_record(record)
    formatted = logging.Formatter().format(record)
    assert KEY not in formatted and "RuntimeError: upstream said Authorization: Bearer ***" in formatted


def test_a_secret_split_across_message_and_args_collapses_the_record() -> None:
    record = _record("Authorization: %s %s", "Bearer", "abc123xyz")
    logs.redact_record(record)
    assert (record.getMessage(), record.args) == ("Authorization: Bearer ***", ())


def test_clean_records_are_untouched() -> None:
    exc = ValueError("plain failure")
    record = _record("%s rows in %.1f ms", 3, 1.5, exc=exc)
    args, exc_info = record.args, record.exc_info
    logs.redact_record(record)
    assert (record.args, record.exc_info) == (args, exc_info)


@pytest.mark.anyio
async def test_the_servers_own_texts_pass_unchanged() -> None:
    """Tool descriptions and schemas, prompts and instructions hold nothing credential-shaped to mangle."""
    settings = load_settings({"access": "destructive", "admin_tools": True, "backend": "local"}, environ={})
    server = build_server(settings)
    listed = [t.model_dump(mode="json") for t in await server.list_tools()]
    listed += [p.model_dump(mode="json") for p in await server.list_prompts()]
    assert redact_value(listed) == listed
    assert redact_value(server.instructions) == server.instructions
