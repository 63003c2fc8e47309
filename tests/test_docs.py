"""The docs stay true: generated option tables in sync, the README's two commands, links that resolve."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _gen_options(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_options_doc.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_option_tables_match_the_declarations() -> None:
    result = _gen_options("--check")
    assert result.returncode == 0, result.stderr + " (run .venv/bin/python scripts/gen_options_doc.py)"


def test_option_tables_list_every_option_with_its_default() -> None:
    from airflow_lineage_provider.get_provider_info import OPTIONS

    for path in (ROOT / "README.md", ROOT / "docs" / "admins.md"):
        text = path.read_text()
        for name, option in OPTIONS.items():
            default = option["default"] or "(empty)"
            assert re.search(rf"^\| `{name}` \| \w+ \| `?{re.escape(default)}`? \|", text, re.M), (
                path.name,
                name,
            )


def test_check_mode_detects_a_stale_table(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_options_doc
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    stale = "x\n<!-- options:start -->\nold table\n<!-- options:end -->\ny\n"
    fresh = gen_options_doc.render(stale, "test.md")
    assert (
        "old table" not in fresh
        and "| `transport` |" in fresh
        and fresh.endswith("<!-- options:end -->\ny\n")
    )
    assert gen_options_doc.render(fresh, "test.md") == fresh
    with pytest.raises(SystemExit, match="markers"):
        gen_options_doc.render("no markers", "test.md")


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it: two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the two commands are in a bash block"
    commands = [line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:.*\n\t.*scripts/demo\.py", makefile, re.M)
    assert re.search(r"^test:.*\n\t.*-m pytest", makefile, re.M)
    ci = [
        line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert "make test" in ci


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://|mailto:|#", target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve()
        assert resolved.exists(), f"{path.name} links to missing {target}"
        if anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", resolved.read_text(), re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{path.name} links to missing anchor {target}"


def _documented_config_list_commands() -> list[tuple[str, str]]:
    """(page, command) for every `airflow config list ...` command line in a bash block of the docs."""
    found = []
    for path in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", path.read_text(), re.S):
            for line in block.splitlines():
                command = line.split("#")[0].strip()
                if command.startswith("airflow config list"):
                    found.append((path.name, command))
    return found


def test_documented_config_list_shows_values_and_hides_the_transport(tmp_path: Path) -> None:
    """The docs promise `airflow config list` shows every option's value with the transport masked. Airflow 3
    hides every value unless --show-values, and prints sensitive ones in clear unless --hide-sensitive."""
    import os

    from airflow_lineage_provider.get_provider_info import OPTIONS

    commands = _documented_config_list_commands()
    assert {page for page, _ in commands} >= {"README.md", "admins.md"}
    secret = '{"type": "http", "url": "http://m:5000", "auth": {"type": "api_key", "apiKey": "doc-key-4242"}}'
    env = {
        **os.environ,
        "AIRFLOW__LINEAGE_PROVIDER__TRANSPORT": secret,
        "AIRFLOW__LINEAGE_PROVIDER__QUEUE_SIZE": "77",
    }
    for command in sorted({command for _, command in commands}):
        args = command.split()
        result = subprocess.run(
            [str(Path(sys.executable).parent / args[0]), *args[1:]], capture_output=True, text=True, env=env
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "doc-key-4242" not in result.stdout + result.stderr, command
        assert re.search(r"^queue_size = 77$", result.stdout, re.M), (command, result.stdout[:500])
        for name in OPTIONS:
            assert re.search(rf"^{name} = ", result.stdout, re.M), (command, name)
