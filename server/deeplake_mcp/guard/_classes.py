"""Statement classes, access modes and the classification record."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["DEFAULT_ACCESS", "AccessMode", "Classification", "StatementClass"]


class StatementClass(enum.IntEnum):
    """What a statement may do, ordered from harmless to never allowed."""

    READ = 0
    WRITE = 1
    DESTRUCTIVE = 2
    NEVER = 3

    @property
    def label(self) -> str:
        """Lower-case name used in JSON output: read, write, destructive or never."""
        return self.name.lower()


class AccessMode(enum.StrEnum):
    """The server's ``--access`` setting."""

    READ_ONLY = "read-only"
    READ_WRITE = "read-write"
    DESTRUCTIVE = "destructive"


DEFAULT_ACCESS = AccessMode.READ_WRITE
"""The access mode of ``serve`` and ``check-sql`` when none is given; destructive is the opt-in."""


@dataclass(frozen=True)
class Classification:
    """The class of one SQL text and the construct that decided it.

    ``subject`` (a short name for the construct, used in refusals) and ``hint`` (what to do
    instead, for class NEVER; for a function that is destructive only because the guard does not
    know it to be a read, how an operator can declare it one) do not take part in equality.
    """

    cls: StatementClass
    reason: str
    statement: str
    subject: str = field(default="", compare=False)
    hint: str = field(default="", compare=False)


class Finding(NamedTuple):
    """One construct found while classifying: its class, a reason and a way forward."""

    cls: StatementClass
    reason: str
    subject: str = ""
    hint: str = ""


def worst(first: Finding | None, second: Finding | None) -> Finding | None:
    """The finding with the higher class; on a tie the first one wins."""
    if first is None:
        return second
    if second is None or first.cls >= second.cls:
        return first
    return second


def never(reason: str, hint: str, subject: str = "") -> Finding:
    """A class NEVER finding."""
    return Finding(StatementClass.NEVER, reason, subject or reason, hint)
