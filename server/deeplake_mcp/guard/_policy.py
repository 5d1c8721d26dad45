"""Stage two of the guard: an access mode turns a classification into a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._calls import parse_read_functions
from ._classes import AccessMode, Classification, StatementClass
from ._classify import classify
from ._filter import check_filter

__all__ = ["Policy", "Verdict"]

_R, _W, _D, _X = StatementClass.READ, StatementClass.WRITE, StatementClass.DESTRUCTIVE, StatementClass.NEVER

_ALLOWED: dict[AccessMode, tuple[StatementClass, ...]] = {
    AccessMode.READ_ONLY: (_R,),
    AccessMode.READ_WRITE: (_R, _W),
    AccessMode.DESTRUCTIVE: (_R, _W, _D),
}
# For each blocked class: how the refusal names it, what an operator can enable, and the flag.
_ENABLE: dict[StatementClass, tuple[str, str, AccessMode]] = {
    _W: ("a write", "writes", AccessMode.READ_WRITE),
    _D: ("destructive", "destructive access", AccessMode.DESTRUCTIVE),
}


@dataclass(frozen=True)
class Verdict:
    """Whether a statement may run, its class and a reason that says what to do next."""

    allowed: bool
    cls: StatementClass
    reason: str

    def to_json(self) -> dict[str, object]:
        """``{"allowed": bool, "class": "read"|"write"|"destructive"|"never", "reason": str}``."""
        return {"allowed": self.allowed, "class": self.cls.label, "reason": self.reason}


@dataclass(frozen=True)
class Policy:
    """The server's access mode, applied to classifications.

    ``Policy(AccessMode.READ_ONLY).check("DELETE FROM t")`` is a blocked verdict whose reason
    names the statement, the current mode and the flag that would allow it. ``read_functions``
    are the operator's extra read functions (``name`` or ``schema.name``, policy 2.1.8); they are
    validated here, and a name that can never be a read raises ValueError.
    """

    mode: AccessMode
    read_functions: frozenset[str] = field(default=frozenset())
    server_mode: AccessMode | None = None
    """Set when ``mode`` is a caller's, lower than the server's (an access token that grants less)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "read_functions", parse_read_functions(self.read_functions))

    @property
    def allowed_classes(self) -> tuple[StatementClass, ...]:
        """The classes this mode allows, in ascending order."""
        return _ALLOWED[self.mode]

    def allows(self, cls: StatementClass) -> bool:
        """Whether this mode allows statements of class ``cls``."""
        return cls in self.allowed_classes

    def classify(self, sql: object) -> Classification:
        """Classify ``sql``, with this policy's extra read functions."""
        return classify(sql, read_functions=self.read_functions)

    def check(self, sql: object) -> Verdict:
        """Classify ``sql`` and decide."""
        return self.decide(self.classify(sql))

    def decide(self, classification: Classification) -> Verdict:
        """The verdict for an existing classification."""
        cls = classification.cls
        subject = classification.subject or classification.reason
        if cls is _X:
            return Verdict(False, cls, _never_reason(subject, classification.hint))
        if self.allows(cls):
            statement = classification.statement
            detail = subject if subject.startswith(statement) else f"{statement}: {subject}"
            return Verdict(True, cls, f"{cls.label} ({detail})")
        phrase, enable, needed = _ENABLE[cls]
        widen = f", or {classification.hint}" if classification.hint else ""
        operator = f"an operator can enable {enable} (--access {needed.value}){widen}"
        if self.server_mode is None:
            why = f"this server runs with --access {self.mode.value}; {operator}"
        elif cls in _ALLOWED[self.server_mode]:
            why = f"this request's access token grants {self.mode.value} access; a token that grants {needed.value} may"
        else:
            why = f"this request's access token grants {self.mode.value} access; {operator}"
        return Verdict(False, cls, f"{subject} is {phrase}; {why}")

    def check_filter(self, expr: object) -> Verdict:
        """Decide on a ``semantic_search`` filter: allowed only when it is a plain read."""
        classification = check_filter(expr, read_functions=self.read_functions)
        cls = classification.cls
        subject = classification.subject or classification.reason
        if cls is _R:
            return Verdict(True, cls, "read (filter expression)")
        if cls is _X:
            return Verdict(False, cls, "filter: " + _never_reason(subject, classification.hint))
        widen = f" (an operator can {classification.hint})" if classification.hint else ""
        return Verdict(
            False,
            cls,
            f"filter: {subject} is {_ENABLE[cls][0]}; a filter must be a read-only boolean "
            f"expression such as metadata->>'source' = 'manual'{widen}",
        )


def _never_reason(subject: str, hint: str) -> str:
    reason = f"{subject} is never allowed in any access mode"
    return f"{reason}: {hint}" if hint else reason
