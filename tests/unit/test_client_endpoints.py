"""Every endpoint of the REST client against httpx.MockTransport: method, path, body, parsing."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from deeplake_mcp.deeplake import (
    ConflictError,
    DeepLakeClient,
    Member,
    NotFoundError,
    Organization,
    RetryPolicy,
    ServerError,
    TableDetails,
    Workspace,
)

pytestmark = pytest.mark.anyio

KEY = "sk-test-key"


@dataclass
class Recorder:
    """A MockTransport handler that answers with queued responses and records requests."""

    responses: list[httpx.Response] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.responses.pop(0) if self.responses else httpx.Response(200, json={})

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self) -> Any:
        return json.loads(self.last.content) if self.last.content else None


def client_with(recorder: Recorder, **kwargs: Any) -> DeepLakeClient:
    kwargs.setdefault("retries", RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01, max_total=5))
    return DeepLakeClient(
        base_url="https://api.example.test",
        api_key=KEY,
        org_id="org-1",
        transport=httpx.MockTransport(recorder),
        **kwargs,
    )


Call = Callable[[DeepLakeClient], Awaitable[Any]]

# (call, method, raw path, JSON body or None, response body, expected result)
ENDPOINTS: list[tuple[str, Call, str, str, Any, Any, Any]] = [
    ("health", lambda c: c.health(), "GET", "/health", None, {"status": "ok"}, {"status": "ok"}),
    ("ready", lambda c: c.ready(), "GET", "/ready", None, {"status": "ready"}, {"status": "ready"}),
    (
        "get_organization",
        lambda c: c.get_organization("org 1/x"),
        "GET",
        "/organizations/org%201%2Fx",
        None,
        {"organization": {"id": "org 1/x", "name": "Org"}},
        Organization(id="org 1/x", name="Org"),
    ),
    (
        "create_organization",
        lambda c: c.create_organization("my-org", "My Org"),
        "POST",
        "/organizations",
        {"id": "my-org", "name": "My Org"},
        {"id": "my-org", "name": "My Org", "creator": "u1", "created_at": "2025-01-01T00:00:00Z"},
        Organization(id="my-org", name="My Org", creator="u1", created_at="2025-01-01T00:00:00Z"),
    ),
    (
        "update_organization",
        lambda c: c.update_organization("my-org", "New"),
        "PATCH",
        "/organizations/my-org",
        {"name": "New"},
        {"organization": {"id": "my-org", "name": "New"}},
        Organization(id="my-org", name="New"),
    ),
    (
        "delete_organization",
        lambda c: c.delete_organization("my-org"),
        "DELETE",
        "/organizations/my-org",
        None,
        None,
        None,
    ),
    (
        "list_members",
        lambda c: c.list_members("o"),
        "GET",
        "/organizations/o/members",
        None,
        {"members": [{"user_id": "u1", "name": "A", "email": "a@x", "role": "admin"}]},
        [Member(user_id="u1", name="A", email="a@x", role="admin")],
    ),
    (
        "invite_member",
        lambda c: c.invite_member("o", "b@x", "member"),
        "POST",
        "/organizations/o/members",
        {"email": "b@x", "role": "member"},
        {"id": "u2", "email": "b@x", "role": "member"},
        Member(user_id="u2", email="b@x", role="member"),
    ),
    (
        "update_member_role",
        lambda c: c.update_member_role("o", "u/2", "admin"),
        "PATCH",
        "/organizations/o/members/u%2F2",
        {"role": "admin"},
        {"user_id": "u/2", "name": "B", "email": "b@x", "role": "admin"},
        Member(user_id="u/2", name="B", email="b@x", role="admin"),
    ),
    (
        "remove_member",
        lambda c: c.remove_member("o", "u2"),
        "DELETE",
        "/organizations/o/members/u2",
        None,
        None,
        None,
    ),
    (
        "get_workspace",
        lambda c: c.get_workspace("my ws"),
        "GET",
        "/workspaces/my%20ws",
        None,
        {"id": "my ws", "name": "W", "org_id": "o", "type": "shared", "created_at": "t"},
        Workspace(id="my ws", name="W", org_id="o", type="shared", created_at="t"),
    ),
    (
        "create_workspace",
        lambda c: c.create_workspace("w1"),
        "POST",
        "/workspaces",
        {"id": "w1", "name": "w1"},
        {"id": "w1", "name": "w1", "org_id": "o"},
        Workspace(id="w1", name="w1", org_id="o"),
    ),
    (
        "update_workspace",
        lambda c: c.update_workspace("w1", "Renamed"),
        "PATCH",
        "/workspaces/w1",
        {"name": "Renamed"},
        {"data": {"id": "w1", "name": "Renamed"}},
        Workspace(id="w1", name="Renamed"),
    ),
    (
        "delete_workspace",
        lambda c: c.delete_workspace("w1"),
        "DELETE",
        "/workspaces/w1",
        None,
        None,
        None,
    ),
    (
        "create_table",
        lambda c: c.create_table("w", "docs", {"title": "TEXT", "embedding": "FLOAT4[]", "n": "BIGINT"}),
        "POST",
        "/workspaces/w/tables",
        {"table_name": "docs", "table_schema": {"title": "TEXT", "embedding": "FLOAT4[]", "n": "BIGINT"}},
        {
            "table_name": "docs",
            "columns": [{"name": "title", "type": "text", "nullable": True, "default": None}],
            "row_count": 0,
        },
        TableDetails.model_validate(
            {"table_name": "docs", "columns": [{"name": "title", "type": "text"}], "row_count": 0}
        ),
    ),
    (
        "drop_table",
        lambda c: c.drop_table("w", "a/b"),
        "DELETE",
        "/workspaces/w/tables/a%2Fb",
        None,
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "sent", "answer", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in ENDPOINTS],
)
async def test_endpoint(call: Call, method: str, path: str, sent: Any, answer: Any, expected: Any) -> None:
    recorder = Recorder([httpx.Response(204) if answer is None else httpx.Response(200, json=answer)])
    async with client_with(recorder) as client:
        result = await call(client)
    request = recorder.last
    assert request.method == method
    assert request.url.raw_path.decode() == path
    assert recorder.body() == sent
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-activeloop-org-id"] == "org-1"
    if sent is not None:
        assert request.headers["content-type"] == "application/json"
    assert result == expected


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda c: c.create_organization("o2", "Org Two"), Organization(id="o2", name="Org Two")),
        (lambda c: c.update_organization("o2", "N"), Organization(id="o2", name="N")),
        (lambda c: c.invite_member("o", "c@x", "admin"), Member(email="c@x", role="admin")),
        (lambda c: c.update_member_role("o", "u3", "member"), Member(user_id="u3", role="member")),
        (lambda c: c.create_workspace("w2", "Two"), Workspace(id="w2", name="Two")),
        (lambda c: c.update_workspace("w2", "2"), Workspace(id="w2", name="2")),
        (lambda c: c.create_table("w", "t", {"a": "TEXT"}), TableDetails(table_name="t")),
    ],
)
async def test_writes_tolerate_empty_answers(call: Call, expected: Any) -> None:
    for answer in (httpx.Response(201), httpx.Response(204), httpx.Response(200, json={})):
        async with client_with(Recorder([answer])) as client:
            assert await call(client) == expected


async def test_list_members_tolerates_shapes() -> None:
    for answer in (
        [{"user_id": "u1", "role": "admin"}],
        {"data": [{"id": "u1", "role": "admin"}]},
        {"members": [{"id": "u1", "role": "admin", "extra": True}]},
    ):
        async with client_with(Recorder([httpx.Response(200, json=answer)])) as client:
            members = await client.list_members("o")
        assert [(m.user_id, m.role) for m in members] == [("u1", "admin")]
    async with client_with(Recorder([httpx.Response(200)])) as client:
        assert await client.list_members("o") == []


async def test_get_organization_accepts_bare_object() -> None:
    recorder = Recorder([httpx.Response(200, json={"id": "o", "name": "Bare"})])
    async with client_with(recorder) as client:
        assert await client.get_organization("o") == Organization(id="o", name="Bare")


async def test_upload_table_sends_multipart_form() -> None:
    recorder = Recorder(
        [
            httpx.Response(
                201,
                json={
                    "table_name": "people",
                    "row_count": 2,
                    "columns": [{"name": "name", "type": "text"}, {"name": "age", "type": "int8"}],
                },
            )
        ]
    )
    content = b"name,age\nada,36\nalan,41\n"
    async with client_with(recorder) as client:
        result = await client.upload_table("my ws", "people", "people.csv", io.BytesIO(content))
    request = recorder.last
    assert request.method == "POST"
    assert request.url.raw_path == b"/workspaces/my%20ws/tables"
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    form = _parse_multipart(request.content, content_type.split("boundary=")[1])
    assert form["file"] == ('filename="people.csv"', "text/csv", content)
    assert form["filename"] == (None, None, b"people.csv")
    assert form["table_name"] == (None, None, b"people")
    assert result.row_count == 2
    assert [c.name for c in result.columns] == ["name", "age"]


async def test_upload_table_uses_the_upload_timeout() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"id": "w"}) if request.method == "GET" else httpx.Response(201)

    client = DeepLakeClient(api_key=KEY, transport=httpx.MockTransport(handler))
    async with client:
        await client.upload_table("w", "t", "t.json", b"[]")
        await client.create_table("w", "t2", {"a": "TEXT"})
        await client.get_workspace("w")
    assert [timeout["read"] for timeout in seen] == [300.0, 300.0, 30.0]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_organization("o", "n"),
        lambda c: c.delete_organization("o"),
        lambda c: c.invite_member("o", "e@x", "member"),
        lambda c: c.remove_member("o", "u"),
        lambda c: c.create_workspace("w"),
        lambda c: c.delete_workspace("w"),
        lambda c: c.create_table("w", "t", {"a": "TEXT"}),
        lambda c: c.upload_table("w", "t", "t.csv", b"a\n1\n"),
        lambda c: c.drop_table("w", "t"),
        lambda c: c.update_workspace("w", "n"),
    ],
)
async def test_writes_are_not_retried_after_ambiguous_failures(call: Call) -> None:
    recorder = Recorder([httpx.Response(503, json={"error": "busy"}), httpx.Response(204)])
    async with client_with(recorder) as client:
        with pytest.raises(ServerError):
            await call(client)
    assert len(recorder.requests) == 1


async def test_reads_are_retried() -> None:
    recorder = Recorder(
        [httpx.Response(503), httpx.Response(200, json={"members": [{"user_id": "u", "role": "admin"}]})]
    )
    async with client_with(recorder) as client:
        assert len(await client.list_members("o")) == 1
    assert len(recorder.requests) == 2


async def test_conflict_and_not_found_map_to_typed_errors() -> None:
    recorder = Recorder(
        [
            httpx.Response(409, json={"error": "table 'w.t' already exists", "code": "CONFLICT"}),
            httpx.Response(404, json={"error": "workspace 'w' not found", "code": "NOT_FOUND"}),
        ]
    )
    async with client_with(recorder) as client:
        with pytest.raises(ConflictError, match="already exists"):
            await client.create_table("w", "t", {"a": "TEXT"})
        with pytest.raises(NotFoundError, match="not found"):
            await client.delete_workspace("w")


def _parse_multipart(body: bytes, boundary: str) -> dict[str, tuple[str | None, str | None, bytes]]:
    """name -> (filename part of the disposition, content type, payload)."""
    parts: dict[str, tuple[str | None, str | None, bytes]] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:-1]:
        head, _, payload = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line)
        disposition = headers["Content-Disposition"]
        name = disposition.split('name="')[1].split('"')[0]
        filename = next((p.strip() for p in disposition.split(";") if p.strip().startswith("filename=")), None)
        parts[name] = (filename, headers.get("Content-Type"), payload)
    return parts
