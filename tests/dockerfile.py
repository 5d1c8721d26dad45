"""The Dockerfile read as instructions, for the tests that check it and run its install steps."""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments left out."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def env() -> dict[str, str]:
    """The variables its ENV instructions set."""
    return {k: v for kind, arg in instructions() if kind == "ENV" for k, v in re.findall(r"(\w+)=(\S+)", arg)}
