"""Run the benchmark suite and summarise it: ``summary.json``, ``summary.md`` and PNG plots in ``--out``.

Each bench is a script run in its own process with ``--json-out results/raw/<name>.json`` (see
``_common.py`` for the format). The summary holds every result in ``raw/``: those of this run, and
those of earlier runs of benches not run now (the big load), each with its date and commit. With the
default ``--out``, the latest table and plots also replace the summary blocks of ``bench/README.md``
(every measure) and ``README.md`` (those with a target).

    make bench                          # default sizes, a few minutes
    make bench BENCH_ARGS=--large       # bigger sizes, and the 1M × 384 big load (about an hour more)
    .venv/bin/python bench/run.py [--large | --tiny] [--only insert,calls,...] [--out DIR]

Benches: insert, calls, http, memory, search (``search_bench.py --rows N --json-out …`` at each table
size), load (1M rows with ``--large``, 100 000 with ``--only load``; not in the default run), guard, embed.
Results are named by bench, and by table size for search and load (``search-10000``, ``load-1000000``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _common import BENCH, RESULTS, ROOT, Json, commit, machine
from plots import make_plots
from summary import collect, markdown, update_readme

SEARCH_ROWS = {"tiny": [1000], "default": [10_000, 100_000], "large": [100_000, 300_000]}
LOAD_ROWS = {"tiny": 2000, "default": 100_000, "large": 1_000_000}


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: list[str]
    by_default: bool = True


def benches(size: str) -> list[Bench]:
    """The suite at ``size`` (tiny, default or large)."""

    def pick(tiny: list[str], default: list[str], large: list[str]) -> list[str]:
        return {"tiny": tiny, "default": default, "large": large}[size]

    suite = [
        Bench(
            "insert",
            "insert_bench.py",
            pick(["--batches", "10,50", "--rows", "50", "--rounds", "1"], [], ["--rows", "30000", "--rounds", "3"]),
        ),
        Bench(
            "calls",
            "call_bench.py",
            pick(["--calls", "10", "--starts", "1"], [], ["--calls", "2000", "--starts", "10"]),
        ),
        Bench(
            "http",
            "http_bench.py",
            pick(
                ["--clients", "1,2", "--seconds", "0.3", "--rounds", "1"],
                [],
                ["--clients", "1,2,4,8,16,32", "--seconds", "3", "--rounds", "10"],
            ),
        ),
        Bench("memory", "memory_bench.py", pick(["--rows", "200"], [], [])),
        *(Bench(f"search-{n}", "search_bench.py", ["--rows", str(n)]) for n in SEARCH_ROWS[size]),
        Bench(
            f"load-{LOAD_ROWS[size]}",
            "load_bench.py",
            ["--rows", str(LOAD_ROWS[size]), *pick(["--batch", "500", "--queries", "20"], [], [])],
            by_default=size == "large",
        ),
        Bench("guard", "guard_bench.py", []),
        Bench("embed", "embed_bench.py", pick(["--sentences", "20", "--runs", "5", "--repeat", "1"], [], [])),
    ]
    return suite


def run_bench(bench: Bench, raw: Path) -> str | None:
    """Run one bench; None when it wrote its result, else why not."""
    script = BENCH / bench.script
    if not script.exists():
        return f"bench/{bench.script} is not there"
    out = raw / f"{bench.name}.json"
    out.unlink(missing_ok=True)
    print(f"== {bench.name}: {bench.script} {' '.join(bench.args)}", flush=True)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script), *bench.args, "--json-out", str(out)], stderr=subprocess.PIPE, text=True
    )
    print(f"== {bench.name}: exit {done.returncode} after {time.monotonic() - started:.0f} s", flush=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        lines = done.stderr.replace(f"{ROOT}/", "").strip().splitlines()
        return f"exit {done.returncode}: {lines[-1] if lines else 'no message'}"
    return None if out.exists() else f"it wrote no {out.name}"


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = cli.add_mutually_exclusive_group()
    size.add_argument("--large", action="store_const", const="large", dest="size", help="bigger sizes, the big load")
    size.add_argument("--tiny", action="store_const", const="tiny", dest="size", help="tiny sizes (smoke test)")
    cli.add_argument("--only", type=lambda s: s.split(","), help="these benches only (search: every size)")
    cli.add_argument("--out", type=Path, default=RESULTS)
    opts = cli.parse_args()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    raw = opts.out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    summary: Json = {
        "date": started,
        "commit": commit(),
        "machine": machine(),
        "command": " ".join(["bench/run.py", *sys.argv[1:]]),
        "problems": {},
    }
    suite = benches(opts.size or "default")
    for bench in suite:
        family = bench.name.split("-")[0]
        if (family in opts.only) if opts.only else bench.by_default:
            reason = run_bench(bench, raw)
            if reason is not None:
                summary["problems"][bench.name] = reason
    summary["benches"] = collect(raw, started, [bench.name.split("-")[0] for bench in suite])
    summary["plots"] = make_plots(summary["benches"], opts.out)
    for result in summary["benches"].values():
        result.pop("series", None)  # plotted; they stay in raw/
    (opts.out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    (opts.out / "summary.md").write_text("# Benchmark summary\n\n" + markdown(summary))
    if opts.out == RESULTS:
        update_readme(BENCH / "README.md", markdown(summary, images="results/"))
        update_readme(ROOT / "README.md", markdown(summary, images="bench/results/", targets_only=True))
    print(markdown(summary))


if __name__ == "__main__":
    main()
