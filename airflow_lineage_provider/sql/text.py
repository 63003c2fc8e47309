"""Text-level helpers run before parsing: templating and parameter clean-up, statement splitting,
procedure bodies, nesting depth and huge ``INSERT ... VALUES`` shortening. All linear-time scans."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from collections.abc import Iterator

#: replaces a Jinja expression left in the SQL; tables whose name contains it are dropped
JINJA_PLACEHOLDER = "__jinja__"

_JINJA_EXPR = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_JINJA_BLOCK = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
#: Hive / Spark / Databricks substitution variables left unsubstituted: ``${db}``, ``${hivevar:x}``
_DOLLAR_VARIABLE = re.compile(r"\$\{[^{}\n]*\}")
_PYFORMAT = re.compile(r"%\(\w+\)s|%s\b")
#: a positional bind cast with ``::`` (``?::date``, ``%(ds)s::date`` once replaced): no parser takes ``?::``,
#: every one takes ``(?)::``; not the ``?|`` / ``?&`` operators
_QMARK_CAST = re.compile(r"(?<![\w?])\?(?=[ \t]*::)")
#: numeric binds (Oracle, SQLite ``:1``) after a delimiter; not ``::1`` casts, ``v:1`` paths, ``[a:1]`` slices
_NUMERIC_BIND = re.compile(r"(?<=[(,=<>+\-*/|\s]):(?=\d+\b)")

#: quoted text (also PostgreSQL ``$tag$ ... $tag$``) and comments (skipped as a whole), block keywords,
#: ``;`` and parentheses; everything else is stepped over by the regex engine, so scans cost one Python
#: iteration per interesting token only
_TOKENS_PATTERN = (
    r"""(?P<skip>'(?:[^'\\]|\\.|'')*(?:'|\Z)|"(?:[^"]|"")*(?:"|\Z)|`[^`]*(?:`|\Z)|\[[^\]\n]*\]"""
    r"""|--[^\n]*|/\*.*?(?:\*/|\Z)|\$\$.*?(?:\$\$|\Z)"""
    r"""|(?<![\w$])\$(?P<tag>[A-Za-z_]\w*)\$.*?(?:\$(?P=tag)\$|\Z){extra})"""
    r"|(?P<word>\b(?:begin|case|end|if|loop|while|for|repeat|try|catch|transaction|tran|work|distributed"
    r"|deferred|immediate|exclusive)\b)"
    r"|(?P<semi>;)|(?P<go>^[ \t]*GO(?:[ \t]+\d+)?[ \t]*$)|(?P<slash>^[ \t]*/[ \t]*$)"
    r"|(?P<open>\()|(?P<close>\))"
)
_TOKENS = re.compile(_TOKENS_PATTERN.format(extra=""), re.IGNORECASE | re.DOTALL | re.MULTILINE)
#: a T-SQL batch separator: ``GO`` (optionally with a count) alone on its line
_GO_LINE = re.compile(r"^[ \t]*GO(?:[ \t]+\d+)?[ \t]*$", re.IGNORECASE | re.MULTILINE)
#: an Oracle SQL*Plus / SQLcl terminator: ``/`` alone on its line runs the buffer (a statement or a PL/SQL
#: block); elsewhere such a line is a division split over lines
_SLASH_LINE = re.compile(r"^[ \t]*/[ \t]*$", re.MULTILINE)
_COMMENT_OR_QUOTED_PATTERN = (
    r"""(?P<keep>'(?:[^'\\]|\\.|'')*(?:'|\Z)|"(?:[^"]|"")*(?:"|\Z)|`[^`]*(?:`|\Z)|\$\$.*?(?:\$\$|\Z)"""
    r"""|(?<![\w$])\$(?P<tag>[A-Za-z_]\w*)\$.*?(?:\$(?P=tag)\$|\Z))"""
    r"|(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z){extra})"
)
_COMMENT_OR_QUOTED = re.compile(_COMMENT_OR_QUOTED_PATTERN.format(extra=""), re.DOTALL)
#: line-comment markers of the dialect being read besides ``--`` (MySQL, BigQuery, ClickHouse ``#``,
#: Snowflake ``//``): they hide ``;`` and quotes like ``--`` does
_LINE_COMMENTS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("line_comments", default=())
#: whether a ``/`` line ends a statement (Oracle scripts)
_SLASH_ENDS: contextvars.ContextVar[bool] = contextvars.ContextVar("slash_ends", default=False)


@functools.lru_cache(maxsize=16)
def _dialect_line_comments(dialect: str) -> tuple[str, ...]:
    """The single-line comment markers other than ``--`` of a sqlglot dialect's tokenizer."""
    try:
        from sqlglot.dialects.dialect import Dialect

        markers = Dialect.get_or_raise(dialect or None).tokenizer_class.COMMENTS
    except Exception:
        return ()
    found = {m for m in markers if isinstance(m, str) and m != "--"}
    # a marker that starts with another one adds nothing (ClickHouse ``#!`` after ``#``)
    return tuple(sorted(m for m in found if not any(o != m and m.startswith(o) for o in found)))


@contextlib.contextmanager
def comment_style(dialect: str | None) -> Iterator[None]:
    """Within this block the scans of this module also skip the dialect's own line comments."""
    token = _LINE_COMMENTS.set(_dialect_line_comments(dialect or ""))
    slash = _SLASH_ENDS.set(dialect == "oracle")
    try:
        yield
    finally:
        _SLASH_ENDS.reset(slash)
        _LINE_COMMENTS.reset(token)


@functools.lru_cache(maxsize=16)
def _patterns(markers: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    extra = "".join(f"|{re.escape(m)}[^\\n]*" for m in markers)
    return (
        re.compile(_TOKENS_PATTERN.format(extra=extra), re.IGNORECASE | re.DOTALL | re.MULTILINE),
        re.compile(_COMMENT_OR_QUOTED_PATTERN.format(extra=extra), re.DOTALL),
    )


def _tokens() -> re.Pattern[str]:
    markers = _LINE_COMMENTS.get()
    return _patterns(markers)[0] if markers else _TOKENS


def _comment_or_quoted() -> re.Pattern[str]:
    markers = _LINE_COMMENTS.get()
    return _patterns(markers)[1] if markers else _COMMENT_OR_QUOTED


_BLOCK_MARK = re.compile(r"/\*|\*/")


def flatten_nested_comments(sql: str) -> str:
    """PostgreSQL and T-SQL block comments nest (``/* a /* b */ c */`` is one comment); other readers end
    them at the first ``*/``. The same text with the inner markers blanked (same length), so that every
    reader sees one comment."""
    if sql.count("/*") < 2:
        return sql
    pattern = _comment_or_quoted()
    out: list[str] = []
    last = pos = 0
    while (m := pattern.search(sql, pos)) is not None:
        comment = m.group("comment")
        pos = m.end()
        if not comment or not comment.startswith("/*") or "/*" not in comment[2:]:
            continue
        depth, end = 0, len(sql)
        for mark in _BLOCK_MARK.finditer(sql, m.start()):
            depth += 1 if mark.group() == "/*" else -1
            if depth == 0:
                end = mark.end()
                break
        inner = sql[m.start() + 2 : max(m.start() + 2, end - 2)]
        out += [
            sql[last : m.start()],
            "/*",
            inner.replace("/*", "  ").replace("*/", "  "),
            sql[end - 2 : end],
        ]
        last = pos = end
    out.append(sql[last:])
    return "".join(out)


#: the head of a MySQL / MariaDB executable comment: ``/*!``, ``/*!50001``, MariaDB ``/*M!100100``
_EXECUTABLE_HEAD = re.compile(r"/\*M?!\d*")


#: select / DML modifiers an executable comment may hold at the end of a statement (``/*! STRAIGHT_JOIN */``,
#: ``/*!40001 SQL_NO_CACHE */``)
_MODIFIERS_ONLY = re.compile(
    r"\s*(?:(?:STRAIGHT_JOIN|SQL_\w+|HIGH_PRIORITY|LOW_PRIORITY|DELAYED|QUICK|IGNORE)\s*)+", re.IGNORECASE
)
#: the end of a statement: spaces, then ``;`` or the end of the text
_STATEMENT_END = re.compile(r"\s*(?:;|\Z)")


def unwrap_executable_comments(sql: str) -> str:
    """MySQL / MariaDB run the text of ``/*! ... */`` and ``/*!50001 ... */`` comments (mysqldump writes
    ``/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50001 VIEW v AS select ... */``): that text, in place of the
    comment. Other comments and strings are kept as they are."""
    if "/*!" not in sql and "/*M!" not in sql:
        return sql
    out: list[str] = []
    last = 0
    for m in _comment_or_quoted().finditer(sql):
        comment = m.group("comment")
        head = _EXECUTABLE_HEAD.match(comment) if comment else None
        if head is None or not comment.startswith("/*"):
            continue
        body = comment[head.end() :]
        body = body[:-2] if body.endswith("*/") else body
        if _MODIFIERS_ONLY.fullmatch(body) and _STATEMENT_END.match(sql, m.end()):
            body = ""  # a modifier after the statement's last clause modifies nothing: the server ignores it
        out += [sql[last : m.start()], " ", body, " "]
        last = m.end()
    out.append(sql[last:])
    return "".join(out)


#: a MySQL client ``DELIMITER x`` line: until the next one, ``x`` ends statements (scripts and mysqldump
#: output use it around routines and triggers, whose bodies hold ``;``)
_DELIMITER_LINE = re.compile(r"^[ \t]*DELIMITER[ \t]+(\S+)[ \t]*$", re.IGNORECASE | re.MULTILINE)
#: MySQL quoted text and comments, where a delimiter ends nothing
_MYSQL_QUOTED = (
    r"""'(?:[^'\\]|\\.|'')*(?:'|\Z)|"(?:[^"\\]|\\.|"")*(?:"|\Z)|`[^`]*(?:`|\Z)"""
    r"""|--[^\n]*|#[^\n]*|/\*.*?(?:\*/|\Z)"""
)


def apply_client_delimiters(sql: str) -> str:
    """A MySQL client script with ``DELIMITER //`` lines: the text with ``;`` where the chosen delimiter
    ends a statement (outside quotes and comments), without the ``DELIMITER`` lines (client commands)."""
    if "delimiter" not in sql.lower():
        return sql
    lines = list(_DELIMITER_LINE.finditer(sql))
    if not lines:
        return sql
    out = [sql[: lines[0].start()]]
    for k, line in enumerate(lines):
        body = sql[line.end() : lines[k + 1].start() if k + 1 < len(lines) else len(sql)]
        delimiter = line.group(1)
        if delimiter != ";":
            ends = re.compile(f"(?P<keep>{_MYSQL_QUOTED})|{re.escape(delimiter)}", re.DOTALL)
            body = ends.sub(lambda m: m.group("keep") if m.group("keep") is not None else ";", body)
        out.append(body)
    return "".join(out)


def _may_have_comment(sql: str) -> bool:
    return "--" in sql or "/*" in sql or any(m in sql for m in _LINE_COMMENTS.get())


#: ``BEGIN TRANSACTION`` and SQLite ``BEGIN DEFERRED|IMMEDIATE|EXCLUSIVE [TRANSACTION]`` start no block
_NO_BLOCK_AFTER_BEGIN = {
    "transaction",
    "tran",
    "work",
    "distributed",
    "try",
    "catch",
    "deferred",
    "immediate",
    "exclusive",
}
_NO_BLOCK_AFTER_END = {"if", "loop", "while", "for", "repeat", "try", "catch", "transaction"}


def clean_templating(sql: str) -> str:
    """Replace leftover Jinja, ``${var}`` substitution variables and pyformat parameters by things every
    dialect parses."""
    if "{" in sql:
        sql = _JINJA_BLOCK.sub(" ", sql)
        sql = _JINJA_EXPR.sub(JINJA_PLACEHOLDER, sql)
        if "${" in sql:  # stands for an unknown part of a name or value, like leftover Jinja
            sql = _DOLLAR_VARIABLE.sub(JINJA_PLACEHOLDER, sql)
    if "%" in sql:
        sql = _PYFORMAT.sub("?", sql)
    if "?" in sql and "::" in sql:
        sql = _QMARK_CAST.sub("(?)", sql)
    if ":" in sql:
        sql = _NUMERIC_BIND.sub(":b", sql)  # a named bind every dialect parses
    return sql


def _has_text(piece: str) -> bool:
    if not piece.strip():
        return False
    return bool(strip_comments(piece).strip()) if _may_have_comment(piece) else True


def split_statements(sql: str) -> list[str]:
    """Split a script on ``;`` outside quotes, comments and BEGIN ... END / CASE ... END blocks, on T-SQL
    ``GO`` lines (which end a batch, blocks included) and, in Oracle scripts, on ``/`` lines (likewise)."""
    slash_ends = _SLASH_ENDS.get()
    if ";" not in sql and _GO_LINE.search(sql) is None and not (slash_ends and _SLASH_LINE.search(sql)):
        return [sql] if _has_text(sql) else []
    pieces: list[str] = []
    depth = 0
    start = 0
    prev_word = ""
    prev_end = 0
    for m in _tokens().finditer(sql):
        kind = m.lastgroup
        if kind == "skip" or kind in ("open", "close"):
            continue
        if kind == "slash" and not slash_ends:
            continue
        if kind in ("go", "slash"):
            pieces.append(sql[start : m.start()])
            start, depth, prev_word = m.end(), 0, ""
            continue
        if kind == "semi":
            if prev_word == "begin" and not sql[prev_end : m.start()].strip():
                depth -= 1  # BEGIN; starts a transaction, not a block
            if depth <= 0:
                pieces.append(sql[start : m.start()])
                start = m.end()
                depth = 0
            prev_word = ""
            continue
        word = m.group(0).lower()
        adjacent = not sql[prev_end : m.start()].strip()
        if adjacent and prev_word == "end" and word in _NO_BLOCK_AFTER_END:
            depth += 1  # END IF / END LOOP: undo the decrement of END
        elif adjacent and prev_word == "begin" and word in _NO_BLOCK_AFTER_BEGIN:
            depth -= 1
        if word in ("begin", "case"):
            depth += 1
        elif word == "end":
            depth -= 1
        prev_word, prev_end = word, m.end()
    pieces.append(sql[start:])
    return [p for p in pieces if _has_text(p)]


def strip_comments(sql: str) -> str:
    """The text without ``--`` and ``/* */`` comments, and the dialect's own line comments inside a
    :func:`comment_style` block (quoted text untouched)."""
    if not _may_have_comment(sql):
        return sql
    return _comment_or_quoted().sub(lambda m: " " if m.group("comment") is not None else m.group(0), sql)


def max_paren_depth(sql: str, limit: int | None = None) -> int:
    """Deepest parenthesis nesting outside quotes and comments (0 fast when ``(`` is rarer than ``limit``)."""
    if limit is not None and sql.count("(") <= limit:
        return 0
    depth = best = 0
    for m in _tokens().finditer(sql):
        kind = m.lastgroup
        if kind == "open":
            depth += 1
            best = max(best, depth)
        elif kind == "close":
            depth -= 1
    return best


_VALUES = re.compile(r"\bVALUES\b", re.IGNORECASE)


def shorten_values(sql: str, limit: int) -> str | None:
    """For a statement longer than ``limit`` with a top-level ``VALUES (...), (...), ...`` list, the
    statement with only its first row (the rest carries no lineage); None when not applicable."""
    if len(sql) <= limit:
        return None
    m = _VALUES.search(sql)
    if m is None or m.start() > limit:
        return None
    i = m.end()
    n = len(sql)
    while i < n and sql[i].isspace():
        i += 1
    if i >= n or sql[i] != "(":
        return None
    depth = 0
    for tok in _tokens().finditer(sql, i):
        if tok.lastgroup == "open":
            depth += 1
        elif tok.lastgroup == "close":
            depth -= 1
            if depth == 0:
                return sql[: tok.end()]
    return None


_ROUTINE = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:PROCEDURE|PROC|FUNCTION)\b|BEGIN\b|DO\b)",
    re.IGNORECASE,
)
_BEGIN = re.compile(
    r"\bBEGIN\b(?!\s+(?:TRANSACTION|TRAN|WORK|DISTRIBUTED|DEFERRED|IMMEDIATE|EXCLUSIVE)\b)", re.IGNORECASE
)
_END = re.compile(r"\bEND\b\s*(?:\$\$|;|/)?\s*(?:LANGUAGE\s+\w+)?\s*$", re.IGNORECASE)


_PLPGSQL_PERFORM = re.compile(r"^(\s*)PERFORM\b", re.IGNORECASE)
_PLPGSQL_SELECT_INTO = re.compile(
    r"^(?P<head>\s*SELECT)\s+INTO\s+(?:STRICT\s+)?(?P<targets>[\w.$]+(?:\s*,\s*[\w.$]+)*)\s+(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_INTO_STRICT = re.compile(r"\bINTO\s+STRICT\b", re.IGNORECASE)
#: ``INTO v, w`` of a SELECT in a routine (several variables, which the parser rejects): the first is kept
_INTO_VARIABLES = re.compile(r"(\bINTO\s+[@:]?[\w.$]+)(?:\s*,\s*[@:]?[\w.$]+)+", re.IGNORECASE)
_SELECT_START = re.compile(r"\s*(?:SELECT|WITH)\b", re.IGNORECASE)
_FROM_SCAN = re.compile(
    r"'(?:[^']|'')*'|\"[^\"]*\"|(?P<open>\()|(?P<close>\))|(?P<from>\bFROM\b)", re.IGNORECASE
)


def rewrite_plpgsql_forms(sql: str) -> str:
    """PL/pgSQL forms the parser rejects, as the equivalent it takes: ``PERFORM query`` (run, its rows
    discarded) as ``SELECT ... INTO perform ...``, ``SELECT INTO [STRICT] v, w list FROM ...`` (targets
    first) as ``SELECT list INTO v, w FROM ...``, and ``INTO STRICT v`` as ``INTO v``."""
    sql = _PLPGSQL_PERFORM.sub(r"\1SELECT INTO perform ", sql, count=1)
    m = _PLPGSQL_SELECT_INTO.match(sql)
    if m is not None:
        rest, depth, at = m.group("rest"), 0, None
        for token in _FROM_SCAN.finditer(rest):
            if token.group("open"):
                depth += 1
            elif token.group("close"):
                depth -= 1
            elif token.group("from") and depth == 0:
                at = token.start()
                break
        into = f" INTO {m.group('targets').split(',')[0].strip()} "
        sql = (
            f"{m.group('head')} {rest}{into}"
            if at is None
            else f"{m.group('head')} {rest[:at]}{into}{rest[at:]}"
        )
    return select_into_one_variable(_INTO_STRICT.sub("INTO", sql))


def select_into_one_variable(sql: str) -> str:
    """``SELECT a, b INTO v, w FROM ...`` (PL/pgSQL, MySQL routines) as ``SELECT a, b INTO v FROM ...``: the
    variables are no datasets, and the parser takes one target only."""
    return _INTO_VARIABLES.sub(r"\1", sql, count=1) if _SELECT_START.match(sql) else sql


_DECLARE_WORD = re.compile(r"\bDECLARE\b", re.IGNORECASE)
_HEAD_WORD = re.compile(r"[()]|\b(?:IS|AS)\b", re.IGNORECASE)


def routine_declarations(sql: str) -> str | None:
    """The declaration section of a routine or block, up to its first BEGIN: after ``DECLARE`` (PL/pgSQL,
    Snowflake scripting, PL/SQL blocks) or after the ``IS|AS`` of ``CREATE PROCEDURE|FUNCTION name [(...)]``
    (PL/SQL, which has no ``DECLARE`` there). A ``CREATE`` without BEGIN is the head of a PL/SQL routine a
    script split on ``;`` (its first declaration). None when there is no such section."""
    text = strip_comments(sql)
    if not _ROUTINE.match(text):
        return None
    begin = _BEGIN.search(text)
    if begin is None and not re.match(r"\s*CREATE\b", text, re.IGNORECASE):
        return None
    head = text[: begin.start()] if begin is not None else text
    declare = _DECLARE_WORD.search(head)
    if declare is not None:
        return head[declare.end() :]
    if not re.match(r"\s*CREATE\b", head, re.IGNORECASE):
        return None
    depth = 0
    for m in _HEAD_WORD.finditer(head):
        if m.group() == "(":
            depth += 1
        elif m.group() == ")":
            depth -= 1
        elif depth == 0:  # the routine's IS|AS, not one inside its parameter list
            return head[m.end() :]
    return None


def routine_body(sql: str, *, anywhere: bool = False) -> str | None:
    """The body between the first BEGIN and the last END of a procedure/function/anonymous block
    (with ``anywhere``: of any text holding a BEGIN ... END block, e.g. ``WHILE x BEGIN ... END``)."""
    text = strip_comments(sql)
    if not anywhere and not _ROUTINE.match(text):
        return None
    begin = _BEGIN.search(text)
    if begin is None:
        return None
    end = None
    for m in re.finditer(r"\bEND\b", text, re.IGNORECASE):
        end = m
    if end is None or end.start() <= begin.end():
        return None
    return text[begin.end() : end.start()]


_STATEMENT_START = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|SELECT|WITH|CREATE|REPLACE|TRUNCATE|DROP|ALTER|COPY|UNLOAD)\b",
    re.IGNORECASE,
)


def statement_starts(sql: str, *, limit: int | None = None, after: int = -1) -> list[int]:
    """Offsets of words that can begin a statement (to skip procedural prefixes: IF ... THEN, LOOP ...):
    the first ``limit`` ones (all when None) beyond offset ``after``."""
    starts: list[int] = []
    for m in _STATEMENT_START.finditer(sql):
        if m.start() > after:
            if limit is not None and len(starts) >= limit:
                break
            starts.append(m.start())
    return starts


_LINE_STATEMENT = re.compile(
    r"\n\s*(?=(?:INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|TRUNCATE|ALTER)\b)", re.IGNORECASE
)


def split_lines_without_semicolons(sql: str) -> list[str]:
    """T-SQL style scripts without ``;``: split before lines that begin a DML/DDL statement."""
    return [p for p in _LINE_STATEMENT.split(sql) if p.strip()]


_COMPOUND_ASSIGNMENT = re.compile(r"(?<=[\w\]\"`])\s*[-+*/%&|^]=(?!=)")
_MERGE_OUTPUT = re.compile(r"\bOUTPUT\s+(?:\$action|inserted\.|deleted\.)", re.IGNORECASE)
_TERADATA_ATTRIBUTES = re.compile(r"\(\s*(?:TITLE|FORMAT|NAMED)\s+(?:'(?:[^']|'')*'|\w+)\s*\)", re.IGNORECASE)
_REPLACE_INTO = re.compile(r"^(\s*)REPLACE(\s+(?:LOW_PRIORITY\s+|DELAYED\s+)?INTO\b)", re.IGNORECASE)


_NAME_PART = r"(?:[\w$#]++|\"(?:[^\"]|\"\")++\"|`[^`]++`|\[[^\]]++\])"
#: CREATE <vendor words> TABLE|VIEW name <vendor options> AS <query>
_CREATE_AS = re.compile(
    rf"^\s*CREATE\s+(?P<mods>(?:\w+\s+)*?)(?P<kind>TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>(?>{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*+))"  # atomic: linear time on long names
    r"(?P<options>(?:[^'\"`;]|'(?:[^']|'')*')*?)\bAS\s*(?P<query>(?:\(\s*)*(?:SELECT|WITH)\b.*)$",
    re.IGNORECASE | re.DOTALL,
)
_ALTER_MUTATION = re.compile(
    rf"^\s*ALTER\s+TABLE\s+(?P<name>(?>{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*+))"
    rf"(?:\s+ON\s+CLUSTER\s+(?:{_NAME_PART}|'[^']*+'))?\s+(?P<verb>UPDATE|DELETE)\b",
    re.IGNORECASE,
)
#: ClickHouse ``ALTER TABLE t UPDATE|DELETE ... IN PARTITION p WHERE ...``: the partition it is limited to
_IN_PARTITION = re.compile(
    r"\s+IN\s+PARTITION\s+(?:ID\s+)?(?:'(?:[^']|'')*+'|[\w.]++(?:\s*+\([^()]*+\))?|\([^()]*+\))(?=\s+WHERE\b)",
    re.IGNORECASE,
)
_WITH_DATA = re.compile(r"\)\s*WITH\s+(?:NO\s+)?DATA\b[\w\s]*$", re.IGNORECASE)


#: ``CREATE VIEW ... AS query WITH [CASCADED | LOCAL] CHECK OPTION``
_CHECK_OPTION = re.compile(
    r"(?<!\s)\s+WITH\s+(?:CASCADED\s+|LOCAL\s+)?CHECK\s+OPTION\s*;?\s*$", re.IGNORECASE
)
#: PostgreSQL ``CREATE MATERIALIZED VIEW ... AS query WITH [NO] DATA``: filled now or not (same lineage)
_TRAILING_WITH_DATA = re.compile(r"(?<!\s)\s+WITH\s+(?:NO\s+)?DATA\s*;?\s*$", re.IGNORECASE)
#: the column list of a CREATE TABLE/VIEW ... AS, first of its options: ``v (a, "b") ...``
_NAME_LIST = re.compile(rf"^\s*\(\s*(?:{_NAME_PART})(?:\s*,\s*(?:{_NAME_PART}))*\s*\)")
#: PostgreSQL ``CREATE [OR REPLACE] [TEMP] RECURSIVE VIEW v (cols) AS query``
_RECURSIVE_VIEW = re.compile(
    rf"^\s*CREATE\s+(?P<mods>(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?)RECURSIVE\s+VIEW\s+"
    rf"(?P<name>(?>{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*+))\s*\((?P<cols>[^()]*)\)\s*AS\s+(?P<query>.*)$",
    re.IGNORECASE | re.DOTALL,
)


def _recursive_view(sql: str) -> str | None:
    """PostgreSQL's own definition: ``CREATE RECURSIVE VIEW v (c) AS q`` is ``CREATE VIEW v AS WITH RECURSIVE
    v (c) AS (q) SELECT c FROM v``."""
    m = _RECURSIVE_VIEW.match(sql)
    if m is None:
        return None
    name, cols = m.group("name"), m.group("cols")
    short = re.split(r"\s*\.\s*", name)[-1]
    query = m.group("query").rstrip().rstrip(";")
    recursive = f"WITH RECURSIVE {short} ({cols}) AS ({query}) SELECT {cols} FROM {short}"
    return f"CREATE {m.group('mods')}VIEW {name} AS {recursive}"


def _plain_ctas(sql: str) -> str | None:
    """``CREATE LOCAL TEMP TABLE t ON COMMIT DROP AS SELECT ...``, Teradata ``CREATE VOLATILE TABLE t AS
    (SELECT ...) WITH DATA ...`` and other vendor forms of CREATE TABLE/VIEW AS: the plain equivalent."""
    m = _CREATE_AS.match(sql)
    if m is None or m.group("options").count("(") != m.group("options").count(")"):
        return None
    mods = m.group("mods").upper().split()
    temporary = "TEMPORARY " if {"TEMP", "TEMPORARY", "VOLATILE"} & set(mods) else ""
    query = m.group("query").rstrip().rstrip(";")
    data = _WITH_DATA.search(query)
    if data is not None and query.lstrip().startswith("("):
        query = query[: data.start() + 1]
    names = _NAME_LIST.match(m.group("options"))  # the column list names the columns: it stays
    columns = f" {names.group(0).strip()}" if names else ""
    return f"CREATE {temporary}{m.group('kind').upper()} {m.group('name')}{columns} AS {query}"


_OPENROWSET_BULK = re.compile(r"\bOPENROWSET\s*\(\s*BULK\b", re.IGNORECASE)
_WITH_OPEN = re.compile(r"\s*WITH\s*\(", re.IGNORECASE)


_UPDATE_INLINE_VIEW = re.compile(r"\s*UPDATE\s*\(", re.IGNORECASE)
_VIEW_ALIAS = re.compile(r"\s*(?:AS\s+)?(?!SET\b)([A-Za-z_]\w*)\s+(?=SET\b)", re.IGNORECASE)


def _update_inline_view(sql: str) -> str:
    """Oracle ``UPDATE (SELECT ... FROM t JOIN s ...) [v] SET ...`` (a key-preserved join view) -> ``WITH v AS
    (SELECT ...) UPDATE v SET ...``, an update through a CTE: the parser knows no subquery target."""
    m = _UPDATE_INLINE_VIEW.match(sql)
    if m is None:
        return sql
    end = closing_paren(sql, m.end() - 1)
    if end is None:
        return sql
    alias = _VIEW_ALIAS.match(sql, end)
    name = alias.group(1) if alias is not None else "inline_view"
    rest = sql[alias.end() :] if alias is not None else sql[end:]
    return f"WITH {name} AS {sql[m.end() - 1 : end]} UPDATE {name} {rest.lstrip()}"


_INSERT_INLINE_VIEW = re.compile(r"\s*INSERT\s+INTO\s*\(", re.IGNORECASE)
_VIEW_QUERY = re.compile(
    rf"\(\s*SELECT\s+(?P<items>.*?)\s+FROM\s+(?P<name>{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*+)"
    r"(?:\s+(?!WHERE\b|WITH\b)(?:AS\s+)?[A-Za-z_]\w*)?\s*(?:(?:WHERE|WITH)\b.*)?\)",
    re.IGNORECASE | re.DOTALL,
)
_VIEW_ITEM = re.compile(rf"\s*(?:{_NAME_PART}\s*\.\s*)*(?P<column>{_NAME_PART}|\*)\s*")
_INSERT_VIEW_ALIAS = re.compile(r"\s*(?:AS\s+)?(?!VALUES\b|SELECT\b|WITH\b)[A-Za-z_]\w*(?=\s)", re.IGNORECASE)


def _insert_inline_view(sql: str) -> str:
    """Oracle ``INSERT INTO (SELECT a, b FROM t [WHERE ...]) [v] VALUES|query`` (an insert through an inline
    view of one table) -> ``INSERT INTO t (a, b) VALUES|query``: the parser knows no subquery target."""
    m = _INSERT_INLINE_VIEW.match(sql)
    end = closing_paren(sql, m.end() - 1) if m is not None else None
    view = _VIEW_QUERY.fullmatch(sql, m.end() - 1, end) if m is not None and end is not None else None
    if m is None or end is None or view is None:
        return sql
    columns = []
    for item in view.group("items").split(","):
        plain = _VIEW_ITEM.fullmatch(item)
        if plain is None:
            return sql  # an expression or an alias: no column of t to name
        columns.append(plain.group("column"))
    listed = "" if columns == ["*"] else f" ({', '.join(columns)})"
    if "*" in columns and listed:
        return sql
    alias = _INSERT_VIEW_ALIAS.match(sql, end)
    rest = sql[alias.end() :] if alias is not None else sql[end:]
    return f"INSERT INTO {view.group('name')}{listed} {rest.lstrip()}"


_UPDATE_FROM_FIRST = re.compile(
    rf"\s*UPDATE\s+{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*+(?:\s+(?:AS\s+)?(?!FROM\b)[A-Za-z_]\w*)?\s+FROM\s",
    re.IGNORECASE,
)
_UPDATE_WORDS = re.compile(
    r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|/\*.*?\*/|(?P<open>\()|(?P<close>\))|(?P<comma>,)|\b(?P<set>SET)\b",
    re.IGNORECASE | re.DOTALL,
)
_BARE_TABLE = re.compile(rf"\s*(?:{_NAME_PART}\s*\.\s*)*(?P<last>{_NAME_PART})\s*")


def _update_from_first(sql: str) -> str:
    """Teradata ``UPDATE t FROM s SET ...`` whose last FROM item has no alias: the parser takes ``SET`` for
    its alias; the item gets its own name as alias (``FROM s AS s SET ...``). One pass over the text."""
    m = _UPDATE_FROM_FIRST.match(sql)
    if m is None:
        return sql
    depth = 0
    item_at = m.end()
    for tok in _UPDATE_WORDS.finditer(sql, m.end()):
        if tok.group("open"):
            depth += 1
        elif tok.group("close"):
            depth -= 1
        elif depth == 0 and tok.group("comma"):
            item_at = tok.end()
        elif depth == 0 and tok.group("set"):
            bare = _BARE_TABLE.fullmatch(sql, item_at, tok.start())
            if bare is None:
                return sql
            return f"{sql[: tok.start()].rstrip()} AS {bare.group('last')} {sql[tok.start() :]}"
    return sql


def closing_paren(sql: str, open_at: int) -> int | None:
    """The offset after the ``)`` that closes the ``(`` at ``open_at`` (quotes and comments skipped)."""
    depth = 0
    for tok in _tokens().finditer(sql, open_at):
        if tok.lastgroup == "open":
            depth += 1
        elif tok.lastgroup == "close":
            depth -= 1
            if depth == 0:
                return tok.end()
    return None


def _openrowset_bulk(sql: str) -> str:
    """T-SQL ``OPENROWSET(BULK 'file', FORMAT = 'PARQUET') [WITH (col type, ...)]`` -> the file reader
    ``OPENROWSET_BULK('file', FORMAT = 'PARQUET')`` (the parser knows neither BULK nor the WITH list)."""
    out: list[str] = []
    pos = 0
    for m in _OPENROWSET_BULK.finditer(sql):
        if m.start() < pos:
            continue  # inside the WITH list of the previous one
        open_at = sql.index("(", m.start())
        out.append(sql[pos : m.start()] + "OPENROWSET_BULK(")
        pos = m.end()
        close = closing_paren(sql, open_at)
        if close is None:
            break
        out.append(sql[pos:close])
        pos = close
        with_ = _WITH_OPEN.match(sql, close)
        end = closing_paren(sql, with_.end() - 1) if with_ is not None else None
        if end is not None:
            pos = end
    out.append(sql[pos:])
    return "".join(out)


_DML_TOP = re.compile(r"\b(UPDATE|DELETE|INSERT|MERGE)\s+TOP\s*\(\s*[^()]*\)(?:\s+PERCENT)?", re.IGNORECASE)


def strip_dml_top(sql: str) -> str | None:
    """T-SQL ``UPDATE|DELETE|INSERT|MERGE TOP (n) [PERCENT] ...`` without the TOP clause (it limits the
    rows, it names nothing; the parser reads it as a table), or None when the text has none."""
    if "top" not in sql.lower():
        return None
    stripped = strip_comments(sql)
    rewritten = _DML_TOP.sub(r"\1", stripped)
    return rewritten if rewritten != stripped else None


_SNAPSHOT_TABLE = re.compile(r"^(\s*CREATE\s+(?:OR\s+REPLACE\s+)?)SNAPSHOT\s+(?=TABLE\b)", re.IGNORECASE)
#: Hive ``INSERT OVERWRITE TABLE t PARTITION (...) IF NOT EXISTS query``: skip a partition that exists (the
#: parser does not know the clause; the lineage is the same without it)
_PARTITION_IF_NOT_EXISTS = re.compile(
    r"(\bPARTITION\s*\((?:[^()'\"]|'(?:[^']|'')*'|\"[^\"]*\")*\))\s*IF\s+NOT\s+EXISTS\b", re.IGNORECASE
)
#: T-SQL table hints on an INSERT target: ``INSERT INTO t WITH (TABLOCK) ...``
_INSERT_HINTS = re.compile(
    rf"^(\s*INSERT\s+(?:INTO\s+)?(?>{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*+))\s*WITH\s*\(\s*\w+(?:\s*,\s*\w+)*\s*\)",
    re.IGNORECASE,
)
#: DuckDB ``INSERT [OR ...] INTO t [(cols)] BY POSITION query`` (the default: the words can go)
_INSERT_BY_POSITION = re.compile(
    rf"^(\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(?>{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*+)(?:\s*\([^()]*\))?)"
    r"\s+BY\s+POSITION\b",
    re.IGNORECASE,
)
#: Spark ``INSERT OVERWRITE [LOCAL] DIRECTORY ['path'] USING fmt [OPTIONS (...)] query``
_DIRECTORY_USING = re.compile(
    r"^(?P<head>\s*INSERT\s+OVERWRITE\s+(?:LOCAL\s+)?DIRECTORY)\s*(?P<path>'(?:[^']|'')*')?\s*USING\s+\w+"
    r"(?:\s+OPTIONS\s*\((?P<options>(?:'(?:[^']|'')*'|[^()'])*)\))?",
    re.IGNORECASE,
)
_PATH_OPTION = re.compile(r"(?:^|,)\s*'?path'?\s*=?\s*('(?:[^']|'')*')", re.IGNORECASE)


def _directory_using(sql: str) -> str:
    """``INSERT OVERWRITE DIRECTORY ['path'] USING fmt [OPTIONS (path '...')]`` -> ``INSERT OVERWRITE
    DIRECTORY 'path'`` (the parser knows the Hive form only)."""
    m = _DIRECTORY_USING.match(sql)
    if m is None:
        return sql
    path = m.group("path")
    if path is None:
        option = _PATH_OPTION.search(m.group("options") or "")
        path = option.group(1) if option else None
    return f"{m.group('head')} {path} {sql[m.end() :]}" if path else sql


#: ``CLONE t`` of an older version (BigQuery ``FOR SYSTEM_TIME AS OF``, Databricks ``VERSION|TIMESTAMP AS
#: OF``)
_CLONE_AS_OF = re.compile(
    r"(\bCLONE\s+[\w.`\"-]++)\s+(?:FOR\s+SYSTEM_TIME|VERSION|TIMESTAMP)\s+AS\s+OF\b.*",
    re.IGNORECASE | re.DOTALL,
)


_REMOVE_DUPLICATES = re.compile(r"\s+REMOVE\s+DUPLICATES\s*;?\s*$", re.IGNORECASE)
_MERGE_WORDS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\b(?P<word>WHEN|WHERE|DELETE\s+WHERE)\b", re.IGNORECASE)


def _merge_delete_where(sql: str) -> str:
    """Oracle ``WHEN MATCHED THEN UPDATE SET ... [WHERE c1] DELETE WHERE c2``: the same rows decided by one
    condition the parser knows (``WHERE c1 OR c2`` / ``WHERE c2``). One pass over the text."""
    out: list[str] = []
    last = 0
    seen_where = False
    for m in _MERGE_WORDS.finditer(sql):
        word = (m.group("word") or "").upper()
        if word == "WHEN":
            seen_where = False
        elif word == "WHERE":
            seen_where = True
        elif word.startswith("DELETE"):
            out.append(sql[last : m.start()])
            out.append("OR" if seen_where else "WHERE")
            last = m.end()
            seen_where = True
    out.append(sql[last:])
    return "".join(out)


#: BigQuery ``LOAD DATA INTO|OVERWRITE [TEMP TABLE] t [(cols)] [PARTITIONS (...)] [PARTITION BY ...]
#: [CLUSTER BY ...] [OPTIONS (...)] FROM FILES (...) [WITH PARTITION COLUMNS ...] [WITH CONNECTION ...]``
_LOAD_DATA_HEAD = re.compile(
    rf"^\s*LOAD\s+DATA\s+(?:INTO|OVERWRITE)\s+(?:TEMP\s+TABLE\s+)?(?>{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*+)",
    re.IGNORECASE,
)
_FROM_FILES = re.compile(r"\bFROM\s+FILES\s*\(", re.IGNORECASE)


def _load_data(sql: str) -> str:
    """BigQuery ``LOAD DATA`` without the clauses the parser does not know (partitioning, clustering,
    options, partition columns, connection): the target, its column list and the files."""
    head = _LOAD_DATA_HEAD.match(sql)
    if head is None:
        return sql
    parts = [sql[: head.end()]]
    rest = sql[head.end() :]
    if rest.lstrip().startswith("("):  # the column list
        at = head.end() + len(rest) - len(rest.lstrip())
        close = closing_paren(sql, at)
        if close is None:
            return sql
        parts.append(sql[at:close])
    files = _FROM_FILES.search(sql, head.end())
    if files is None:
        return sql
    close = closing_paren(sql, files.end() - 1)
    if close is None:
        return sql
    parts.append(sql[files.start() : close])
    return " ".join(parts)


#: BigQuery ``WITH CONNECTION `project.region.connection``` (the credentials, no dataset) and ``WITH
#: PARTITION COLUMNS [(...)]`` (columns of the file paths) of a CREATE EXTERNAL TABLE
_WITH_CONNECTION = re.compile(
    r"\bWITH\s+(?:CONNECTION\s+(?:`[^`]*`|[\w.-]+)|PARTITION\s+COLUMNS\b(?:\s*\([^()]*\))?)", re.IGNORECASE
)


#: ClickHouse ``LIMIT n [OFFSET m] BY cols`` and plain ``LIMIT n [OFFSET m]`` / ``LIMIT m, n``
_LIMIT_CLAUSE = re.compile(
    r"\bLIMIT\s++\d++(?:\s*+,\s*+\d++)?+(?:\s++OFFSET\s++\d++)?+(?P<by>\s++BY\b)?", re.IGNORECASE
)
#: DuckDB ``CREATE TABLE t AS PIVOT|UNPIVOT ...`` / ``INSERT INTO t PIVOT|UNPIVOT ...``: where the PIVOT
#: statement starts
_PIVOT_QUERY = re.compile(
    r"^\s*+(?:CREATE\b[^;]*?\bAS|INSERT\b[^;()]*?[^\s;()])\s++(?=(?:PIVOT|UNPIVOT)\s)", re.IGNORECASE
)


#: Snowflake scripting ``LET name [type] := expr`` / ``LET name [type] DEFAULT expr``
_LET = re.compile(r"^\s*LET\s+([\w$]+)", re.IGNORECASE)
_LET_DEFAULT = re.compile(r"\bDEFAULT\b", re.IGNORECASE)


def _snowflake_let(sql: str) -> str:
    """Snowflake scripting ``LET cnt INTEGER := (SELECT ...)`` (also ``RESULTSET``, ``DEFAULT``) -> ``SET
    cnt = (SELECT ...)``, whose query's tables are read (``LET c CURSOR FOR query`` is left alone: the query
    behind the prefix is read)."""
    m = _LET.match(sql)
    if m is None:
        return sql
    rest = sql[m.end() :]
    at = rest.find(":=")
    width = 2
    if at < 0:
        default = _LET_DEFAULT.search(rest)
        if default is None:
            return sql
        at, width = default.start(), default.end() - default.start()
    return f"SET {m.group(1)} = {rest[at + width :].strip()}"


def _limit_after_limit_by(sql: str) -> str:
    """ClickHouse ``... LIMIT 1 BY k LIMIT 10``: without the plain ``LIMIT`` (the parser takes one per query;
    it caps the row count and reads no column). One pass over the text."""
    found = list(_LIMIT_CLAUSE.finditer(sql))
    if not any(m.group("by") for m in found):
        return sql
    out: list[str] = []
    last = 0
    for m in found:
        if not m.group("by"):
            out.append(sql[last : m.start()])
            last = m.end()
    out.append(sql[last:])
    return "".join(out)


def _pivot_statement_query(sql: str) -> str:
    """DuckDB's ``PIVOT`` / ``UNPIVOT`` statement as the query of ``CREATE TABLE ... AS`` or ``INSERT INTO``
    -> ``SELECT * FROM (PIVOT ...)``, the form the parser knows."""
    m = _PIVOT_QUERY.match(sql)
    if m is None:
        return sql
    body = sql[m.end() :].rstrip().rstrip(";")
    return f"{sql[: m.end()]}SELECT * FROM ({body})"


#: Databricks ``COPY INTO t FROM 'path' WITH ([CREDENTIAL ...] [ENCRYPTION (...)])``: access to the files only
_COPY_SOURCE_OPTIONS = re.compile(r"\bWITH\s*(?=\(\s*(?:CREDENTIAL|ENCRYPTION)\b)", re.IGNORECASE)


def _copy_source_options(sql: str) -> str:
    m = _COPY_SOURCE_OPTIONS.search(sql)
    close = closing_paren(sql, m.end()) if m is not None else None
    return sql if m is None or close is None else f"{sql[: m.start()]} {sql[close:]}"


#: Oracle ``TRUNCATE TABLE t DROP [ALL] STORAGE | REUSE STORAGE | PRESERVE|PURGE MATERIALIZED VIEW LOG``:
#: what happens to the freed space and the snapshot log, not to the rows
_TRUNCATE_STORAGE = re.compile(
    r"\s(?:(?:DROP(?:\s+ALL)?|REUSE)\s+STORAGE|(?:PRESERVE|PURGE)\s+MATERIALIZED\s+VIEW\s+LOG)\b",
    re.IGNORECASE,
)


def rewrite_unparseable_forms(sql: str) -> str:
    """Equivalent-lineage rewrites of forms sqlglot cannot parse: T-SQL ``SET x += expr`` (-> ``=``),
    PostgreSQL ``CREATE MATERIALIZED VIEW ... WITH [NO] DATA`` (dropped),
    MySQL ``REPLACE INTO`` (-> ``INSERT INTO``), a trailing T-SQL ``OUTPUT ...`` clause of MERGE,
    Teradata column attributes such as ``col (TITLE 'x')`` (dropped) and ``UPDATE t FROM s SET ...`` (->
    ``UPDATE t FROM s AS s SET ...``), Oracle ``UPDATE (query) [v] SET`` (->
    ``WITH v AS (query) UPDATE v SET``) and ``INSERT INTO (SELECT a FROM t) ...`` (-> ``INSERT INTO t (a)
    ...``), T-SQL ``INSERT INTO t WITH (TABLOCK)``
    hints and Hive ``PARTITION (...) IF NOT EXISTS`` (dropped), vendor forms of CREATE TABLE AS
    (-> ``CREATE [TEMPORARY] TABLE t AS query``), Databricks ``DEEP CLONE`` (-> ``CLONE``), T-SQL
    ``OPENROWSET(BULK ...)`` (-> a file reader), ClickHouse ``ALTER TABLE t UPDATE|DELETE`` mutations
    (-> ``UPDATE t SET`` / ``DELETE FROM t``) and BigQuery ``CREATE SNAPSHOT TABLE s CLONE t FOR SYSTEM_TIME
    AS OF ...`` (-> ``CREATE TABLE s CLONE t``); BigQuery ``CREATE EXTERNAL TABLE t WITH CONNECTION c`` and
    ``WITH PARTITION COLUMNS`` (dropped); ClickHouse ``LIMIT n BY k LIMIT m`` (the plain ``LIMIT``
    dropped), DuckDB ``CREATE TABLE t AS PIVOT ...`` / ``INSERT INTO t PIVOT ...`` (-> ``SELECT * FROM (PIVOT
    ...)``), Databricks ``COPY INTO t FROM 'path' WITH (CREDENTIAL ... ENCRYPTION ...)`` (dropped), Oracle
    ``TRUNCATE TABLE t ... STORAGE`` / ``... MATERIALIZED VIEW LOG`` (dropped)."""
    lower = sql.lower()
    if "timeseries" in lower:
        sql = _vertica_timeseries(sql)
    if "openrowset" in lower:
        sql = _openrowset_bulk(sql)
    if "limit" in lower:
        sql = _limit_after_limit_by(sql)
    if "pivot" in lower:
        sql = _pivot_statement_query(sql)
    if re.match(r"\s*CREATE\b", sql, re.IGNORECASE):
        sql = _TRAILING_WITH_DATA.sub("", _CHECK_OPTION.sub("", sql))
        sql = _recursive_view(sql) or _plain_ctas(sql) or sql
        sql = re.sub(r"\b(?:DEEP|SHALLOW)\s+CLONE\b", "CLONE", sql, flags=re.IGNORECASE)  # Databricks
        # BigQuery CREATE SNAPSHOT TABLE s CLONE t FOR SYSTEM_TIME AS OF ... (Databricks VERSION|TIMESTAMP AS
        # OF ...): a copy of t
        sql = _CLONE_AS_OF.sub(r"\1", _SNAPSHOT_TABLE.sub(r"\1", sql))
        sql = _WITH_CONNECTION.sub(" ", sql)  # BigQuery CREATE EXTERNAL TABLE t WITH CONNECTION c OPTIONS ...
    elif re.match(r"\s*UPDATE\b", sql, re.IGNORECASE):
        return _COMPOUND_ASSIGNMENT.sub(" =", _update_inline_view(_update_from_first(sql)))
    elif re.match(r"\s*ALTER\b", sql, re.IGNORECASE):
        # PostgreSQL ALTER MATERIALIZED VIEW [IF EXISTS] mv RENAME TO mv2: renamed like a view
        sql = re.sub(r"^(\s*ALTER\s+)MATERIALIZED\s+(VIEW\b)", r"\1\2", sql, flags=re.IGNORECASE)
        m = _ALTER_MUTATION.match(sql)
        if m is not None:  # ClickHouse mutations: ALTER TABLE t UPDATE c = x WHERE ... / DELETE WHERE ...
            verb = "UPDATE {} SET" if m.group("verb").upper() == "UPDATE" else "DELETE FROM {}"
            return verb.format(m.group("name")) + _IN_PARTITION.sub("", sql[m.end() :], count=1)
    elif re.match(r"\s*INSERT\b", sql, re.IGNORECASE):
        sql = _INSERT_HINTS.sub(r"\1", sql)  # T-SQL WITH (TABLOCK) on the target
        sql = _INSERT_BY_POSITION.sub(r"\1", sql)
        sql = _PARTITION_IF_NOT_EXISTS.sub(r"\1", _impala_hints(sql))
        sql = _directory_using(_insert_inline_view(sql))
    elif re.match(r"\s*MERGE\b", sql, re.IGNORECASE):
        # Databricks MERGE WITH SCHEMA EVOLUTION INTO: the target gains the source's new columns
        sql = re.sub(r"^(\s*MERGE)\s+WITH\s+SCHEMA\s+EVOLUTION\b", r"\1", sql, flags=re.IGNORECASE)
        m = _MERGE_OUTPUT.search(sql)
        sql = _merge_delete_where(sql[: m.start()] if m else sql)
        # Redshift MERGE ... ON cond REMOVE DUPLICATES: matched rows are replaced, the others inserted
        return _REMOVE_DUPLICATES.sub(" WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *", sql)
    elif re.match(r"\s*LOAD\b", sql, re.IGNORECASE):
        return _load_data(sql)
    elif re.match(r"\s*COPY\b", sql, re.IGNORECASE):
        return _copy_source_options(sql)
    elif re.match(r"\s*LET\b", sql, re.IGNORECASE):
        return _snowflake_let(sql)
    elif re.match(r"\s*TRUNCATE\b", sql, re.IGNORECASE):
        return _TRUNCATE_STORAGE.sub(" ", sql)
    sql = _UPSERT_INTO.sub(r"\1INSERT\2", sql)  # Impala / Kudu, Phoenix: an insert that replaces on key
    return _TERADATA_ATTRIBUTES.sub("", _REPLACE_INTO.sub(r"\1INSERT\2", _impala_hints(sql)))


#: Vertica ``TIMESERIES slice AS 'length' OVER (`` (gap filling), up to its window's opening parenthesis
_TIMESERIES = re.compile(r"\bTIMESERIES\s+(?P<name>[A-Za-z_]\w*)\s+AS\s+'[^']*'\s+OVER\s*\(", re.IGNORECASE)
_WINDOW_PARTS = re.compile(
    r"^\s*(?:PARTITION\s+BY\s+(?P<partition>.*?)\s*)?ORDER\s+BY\s+(?P<order>.*?)\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _vertica_timeseries(sql: str) -> str:
    """Vertica ``... TIMESERIES slice AS '1 minute' OVER (PARTITION BY k ORDER BY ts)``: one row per slice of
    ``ts`` and partition, as ``... GROUP BY k, timeseries_slice(ts)`` with ``slice`` read as that value
    (named ``slice`` where it is a bare item of the select list)."""
    m = _TIMESERIES.search(sql)
    if m is None:
        return sql
    depth, end = 1, None
    for token in _FROM_SCAN.finditer(sql, m.end()):
        if token.group("open"):
            depth += 1
        elif token.group("close"):
            depth -= 1
            if depth == 0:
                end = token.start()
                break
    parts = _WINDOW_PARTS.match(sql[m.end() : end]) if end is not None else None
    if parts is None or end is None:
        return sql
    value = f"timeseries_slice({parts.group('order')})"
    keys = ", ".join(k for k in (parts.group("partition"), value) if k)
    sql = f"{sql[: m.start()]} GROUP BY {keys} {sql[end + 1 :]}"
    name = re.escape(m.group("name"))
    # a bare select item keeps its name (marked, then named); elsewhere (ORDER BY, expressions) the slice is
    # its value
    bare = re.compile(rf"(\bSELECT\s+|,\s*){name}(?=\s*(?:,|\bFROM\b))", re.IGNORECASE)
    sql = bare.sub(lambda item: f"{item.group(1)}\0", sql)
    sql = re.sub(rf"(?<![\w.]){name}\b(?!\s*\()", lambda _: value, sql, flags=re.IGNORECASE)
    return sql.replace("\0", f"{value} AS {m.group('name')}")


#: Impala plan hints in brackets: ``INSERT ... [SHUFFLE] SELECT``, ``JOIN [BROADCAST] t``
_IMPALA_HINT = re.compile(r"\[\s*(?:NO)?(?:SHUFFLE|CLUSTERED|BROADCAST)\s*\]", re.IGNORECASE)
_UPSERT_INTO = re.compile(r"^(\s*)UPSERT(\s+INTO\b)", re.IGNORECASE)


def _impala_hints(sql: str) -> str:
    return _IMPALA_HINT.sub(" ", sql) if "[" in sql else sql


_OUTPUT_SCAN = re.compile(
    r"""'(?:[^']|'')*'|"[^"]*"|\[[^\]]*\]|(?P<open>\()|(?P<close>\))|(?P<semi>;)"""
    r"|\b(?P<word>OUTPUT|INTO|SELECT|VALUES|DEFAULT|EXEC|EXECUTE|FROM|WHERE|OPTION)\b"
    r"|\b(?P<dml>INSERT|UPDATE|DELETE|MERGE)\b",
    re.IGNORECASE,
)
_DML_START = re.compile(r"^\s*(?:(?P<with>WITH)|INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_OUTPUT_ITEMS = re.compile(r"\b(?:inserted|deleted)\s*\.|\$action\b", re.IGNORECASE)


def split_output_clause(sql: str) -> tuple[str, str, str | None] | None:
    """T-SQL ``INSERT/UPDATE/DELETE/MERGE ... OUTPUT <list> [INTO <target> [(cols)]] ...``: the statement
    without the clause, the list and the INTO text (None without INTO); None when there is no such clause
    (an OUTPUT whose list names no ``inserted.``/``deleted.``/``$action`` is taken for a column)."""
    head = _DML_START.match(sql)
    if head is None:
        return None
    # WITH c AS (...) DELETE FROM c OUTPUT ...: the clause counts once the CTEs are followed by the DML
    dml = head.group("with") is None
    depth = 0
    start = into = None
    end = len(sql)
    for m in _OUTPUT_SCAN.finditer(sql):
        if m.group("open"):
            depth += 1
        elif m.group("close"):
            depth -= 1
        elif m.group("dml"):
            dml = dml or depth == 0
        elif not dml:
            continue
        elif depth == 0 and m.group("semi"):
            if start is not None:
                end = m.start()
                break
        elif depth == 0 and m.group("word"):
            word = m.group("word").upper()
            if start is None:
                if word == "OUTPUT":
                    start = m
            elif word == "INTO" and into is None:
                into = m
            elif word not in ("OUTPUT", "INTO"):
                end = m.start()
                break
    if start is None:
        return None
    items = sql[start.end() : into.start() if into is not None else end]
    if not _OUTPUT_ITEMS.search(items):
        return None
    target = sql[into.end() : end].strip() if into is not None else None
    return f"{sql[: start.start()]} {sql[end:]}", items, target
