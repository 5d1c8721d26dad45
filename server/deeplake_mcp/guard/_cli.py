"""``deeplake-mcp check-sql``: classify SQL from the command line, one JSON verdict per statement."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import TextIO

from ._calls import READ_FUNCTIONS_ENV, parse_read_functions
from ._classes import DEFAULT_ACCESS, AccessMode, StatementClass
from ._policy import Policy, Verdict

__all__ = ["run_check_sql"]

_USAGE_ERROR = 2


def run_check_sql(argv: list[str], stdin: TextIO, stdout: TextIO) -> int:
    """Run ``check-sql``: exit 0 when every statement is allowed, 1 when any is blocked, 2 on usage errors.

    SQL comes from the positional argument, else from stdin. With ``--jsonl`` stdin holds one
    JSON object per line with a string ``"sql"`` key; blank lines are skipped.
    """
    parser = argparse.ArgumentParser(
        prog="deeplake-mcp check-sql",
        description="Classify SQL with the server's guard and print one JSON verdict per statement.",
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    parser.add_argument(
        "--mode",
        choices=[mode.value for mode in AccessMode],
        default=DEFAULT_ACCESS.value,
        help=f"access mode to check against (default: {DEFAULT_ACCESS.value}, the same as `deeplake-mcp serve`)",
    )
    parser.add_argument(
        "--read-functions",
        metavar="NAMES",
        default="",
        help=f"extra read functions, comma-separated, as in {READ_FUNCTIONS_ENV} (default: none)",
    )
    parser.add_argument("--jsonl", action="store_true", help="read JSON lines with an 'sql' key from stdin")
    parser.add_argument("sql", nargs="?", help="the SQL statement (default: read stdin)")
    try:
        args = parser.parse_args(argv)
        if args.jsonl and args.sql is not None:
            parser.error("give either SQL as an argument or --jsonl, not both")
        try:
            read_functions = parse_read_functions(args.read_functions)
        except ValueError as exc:
            parser.error(f"--read-functions: {exc}")
    except SystemExit:  # argparse has printed the usage and the error to stderr
        return _USAGE_ERROR
    if args.help:
        parser.print_help(stdout)
        return 0
    policy = Policy(AccessMode(args.mode), read_functions)
    verdicts: Iterator[Verdict]
    if args.jsonl:
        lines = enumerate(stdin, 1)
        verdicts = (_line_verdict(policy, number, line) for number, line in lines if line.strip())
    else:
        verdicts = iter([policy.check(args.sql if args.sql is not None else stdin.read())])
    all_allowed = True
    for verdict in verdicts:
        stdout.write(json.dumps(verdict.to_json()) + "\n")
        all_allowed = all_allowed and verdict.allowed
    return 0 if all_allowed else 1


def _line_verdict(policy: Policy, number: int, line: str) -> Verdict:
    try:
        item = json.loads(line)
    except ValueError:
        item = None
    if not isinstance(item, dict) or not isinstance(item.get("sql"), str):
        return Verdict(
            False,
            StatementClass.NEVER,
            f'line {number} is not a JSON object with a string "sql" field',
        )
    return policy.check(item["sql"])
