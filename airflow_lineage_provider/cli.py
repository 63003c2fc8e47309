"""The ``airflow-lineage`` command: doctor, replay, sql explain, graph.

Each sub-command's implementation is imported only when it runs, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

#: sub-command -> "module:function"; the function takes the parsed argparse.Namespace and returns an exit code
COMMANDS = {
    "doctor": "airflow_lineage_provider.emission.doctor:run",
    "replay": "airflow_lineage_provider.emission.spool:replay_command",
    "sql explain": "airflow_lineage_provider.sql.cli:explain_command",
    "graph": "airflow_lineage_provider.graph:graph_command",
}


def _positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (a negative ``--limit`` would silently replay nothing)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"must be a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _existing_dir(text: str) -> str:
    """An argparse type: a directory that exists (a mistyped ``--spool-dir`` would be created empty and
    reported as "replayed 0 event(s)")."""
    if not os.path.isdir(text):
        msg = f"no such directory: {text!r}; give the spool directory ([lineage_provider] spool_dir)"
        raise argparse.ArgumentTypeError(msg)
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-lineage", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="print the effective configuration and send one test event")
    doctor.add_argument("--no-send", action="store_true", help="do not send the test event")
    doctor.set_defaults(target="doctor")

    replay = sub.add_parser("replay", help="re-deliver events kept in the spool, oldest first")
    replay.add_argument(
        "--spool-dir", type=_existing_dir, help="spool directory (default: [lineage_provider] spool_dir)"
    )
    replay.add_argument("--limit", type=_positive_int, default=None, help="deliver at most this many events")
    replay.add_argument("--dry-run", action="store_true", help="list what would be replayed")
    replay.set_defaults(target="replay")

    sql = sub.add_parser("sql", help="SQL lineage tools")
    sql_sub = sql.add_subparsers(dest="sql_command", required=True, metavar="SQL_COMMAND")
    explain = sql_sub.add_parser("explain", help="print the lineage the engine infers from SQL")
    explain.add_argument("file", nargs="?", default="-", help="SQL file, or - for standard input")
    explain.add_argument("--dialect", default=None, help="postgres, mysql, sqlite, snowflake, bigquery ...")
    explain.add_argument("--default-database", default=None)
    explain.add_argument("--default-schema", default=None)
    explain.add_argument("--pretty", action="store_true", help="a readable form instead of JSON")
    explain.set_defaults(target="sql explain")

    graph = sub.add_parser("graph", help="render a file of OpenLineage events as a lineage picture")
    graph.add_argument(
        "events_file",
        nargs="+",
        help="JSON-lines file(s) of OpenLineage events, oldest first (e.g. events.jsonl.1 events.jsonl)",
    )
    graph.add_argument(
        "-o",
        "--output",
        required=True,
        help="output file: .html, .svg, or .png (needs Chromium)",
    )
    graph.set_defaults(target="graph")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, _, func_name = COMMANDS[args.target].partition(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        code = int(func(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`... | head`): no traceback, exit as if by SIGPIPE
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
