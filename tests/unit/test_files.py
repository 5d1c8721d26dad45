"""read_under: files an agent names are read only from the allowed directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeplake_mcp.files import UnreadableFile, read_under
from deeplake_mcp.identifiers import quote_ident, quote_literal


@pytest.fixture
def root(tmp_path: Path) -> Path:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "data.csv").write_text("a\n1\n")
    (tmp_path / "secret.csv").write_text("s\n42\n")
    return allowed


def test_reads_a_file_under_a_root(root: Path) -> None:
    assert read_under(root / "data.csv", [root], max_bytes=100) == b"a\n1\n"
    assert read_under(root / "sub" / ".." / "data.csv", [root], max_bytes=100) == b"a\n1\n"


@pytest.mark.parametrize("name", ["../secret.csv", "link.csv", "dirlink/secret.csv", "missing/../../secret.csv"])
def test_refuses_what_leaves_the_roots(root: Path, name: str) -> None:
    os.symlink(root.parent / "secret.csv", root / "link.csv")
    os.symlink(root.parent, root / "dirlink")
    with pytest.raises(UnreadableFile, match=f"outside the upload directories \\({root}\\)"):
        read_under(root / name, [root], max_bytes=100)


def test_refuses_other_kinds_sizes_and_no_roots(root: Path) -> None:
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_under(root, [root], max_bytes=100)
    with pytest.raises(UnreadableFile, match="larger than"):
        read_under(root / "data.csv", [root], max_bytes=2)
    with pytest.raises(UnreadableFile, match="does not exist"):
        read_under(root / "nope.csv", [root], max_bytes=100)
    with pytest.raises(UnreadableFile, match="DEEPLAKE_MCP_UPLOAD_DIRS"):
        read_under(root / "data.csv", [], max_bytes=100)


def test_a_root_given_through_a_symlink_still_works(root: Path, tmp_path: Path) -> None:
    os.symlink(root, tmp_path / "alias")
    assert read_under(tmp_path / "alias" / "data.csv", [tmp_path / "alias"], max_bytes=100) == b"a\n1\n"


def test_names_and_literals_stay_one_token() -> None:
    assert quote_ident('we"ird') == '"we""ird"'
    assert quote_literal("it's \\ fine") == "'it''s \\ fine'"
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError, match="invalid name"):
            quote_ident(bad)
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("\x00")


_PARTS = st.sampled_from(["..", ".", "allowed", "outside", "data.csv", "secret.csv", "link", "dirlink", "loop"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_PARTS, min_size=1, max_size=6))
def test_no_path_written_any_way_reads_outside_the_roots(tmp_path: Path, parts: list[str]) -> None:
    """Whatever mix of `..`, links and names a path is made of, a read succeeds only inside the root."""
    root = tmp_path / "allowed"
    if not root.exists():
        root.mkdir()
        (root / "data.csv").write_text("in")
        (tmp_path / "outside").mkdir()
        (tmp_path / "outside" / "secret.csv").write_text("out")
        os.symlink(tmp_path / "outside" / "secret.csv", root / "link")
        os.symlink(tmp_path / "outside", root / "dirlink")
        os.symlink(root / "loop", root / "loop")
    try:
        data = read_under(root.joinpath(*parts), [root], max_bytes=100)
    except UnreadableFile:
        return
    assert data == b"in"
