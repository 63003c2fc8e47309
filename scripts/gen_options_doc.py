"""Write the ``[lineage_provider]`` option tables into README.md, docs/admins.md and docs/configuration.md
from the declarations.

The table sits between ``<!-- options:start -->`` and ``<!-- options:end -->`` in each file and is
generated from ``get_provider_info.OPTIONS`` (the single source Airflow itself reads), so the docs cannot
drift from the code. ``--check`` changes nothing and exits 1 when a file is out of date (a test runs it).

    .venv/bin/python scripts/gen_options_doc.py          # rewrite the tables
    .venv/bin/python scripts/gen_options_doc.py --check  # verify them
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_lineage_provider.get_provider_info import OPTIONS, SECTION  # noqa: E402

FILES = ("README.md", "docs/admins.md", "docs/configuration.md")
START, END = "<!-- options:start -->", "<!-- options:end -->"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ").strip()


def _code(text: str | None) -> str:
    if text is None or text == "":
        return "(empty)"
    return f"`{_cell(text)}`" if "`" not in text else _cell(text)


def table() -> str:
    """The markdown table of every declared option, in declaration order."""
    lines = [
        f"All options live in the `[{SECTION}]` section of airflow.cfg, or in environment variables "
        f"`AIRFLOW__{SECTION.upper()}__<OPTION>`. Generated from `get_provider_info.OPTIONS` by "
        "`scripts/gen_options_doc.py`.",
        "",
        "| option | type | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for name, option in OPTIONS.items():
        description = _cell(option["description"])
        if option.get("sensitive"):
            description += (
                " *(sensitive: hidden by `airflow config list --show-values --hide-sensitive`; "
                f"`{name}_cmd` and `{name}_secret` work too)*"
            )
        if option.get("example"):
            description += f" Example: {_code(option['example'])}."
        lines.append(f"| `{name}` | {option['type']} | {_code(option['default'])} | {description} |")
    return "\n".join(lines)


def render(text: str, path: str) -> str:
    """``text`` with its option table replaced by the current one."""
    if START not in text or END not in text:
        msg = f"{path}: the markers {START} and {END} are missing"
        raise SystemExit(msg)
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file's table is out of date")
    args = parser.parse_args(argv)
    stale = []
    for relative in FILES:
        path = ROOT / relative
        current = path.read_text(encoding="utf-8")
        wanted = render(current, relative)
        if wanted != current:
            stale.append(relative)
            if not args.check:
                path.write_text(wanted, encoding="utf-8")
    if stale and args.check:
        where = ", ".join(stale)
        print(f"option tables out of date in {where}: run scripts/gen_options_doc.py", file=sys.stderr)
        return 1
    if stale:
        print(f"updated the option table in {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
