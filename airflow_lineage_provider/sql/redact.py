"""Redaction of SQL text before it goes into an event (the SQL job facet) or a log line.

Credentials are always replaced by ``***``: ``CREDENTIALS``/``PASSWORD``/secret key options of COPY,
UNLOAD, CREATE/ALTER USER/ROLE/SECRET, storage integrations and stages, settings named as secrets, the
positional credentials of table functions and engines (ClickHouse ``s3``, ``postgresql``, ``remote`` ...),
and the secret part of connection strings and URIs. ``mask_literals=True`` additionally turns every string
and number literal into ``?``.
"""

from __future__ import annotations

import re

MASK = "***"

#: ``scheme://user:secret@``: the secret runs to the last '@' before the path, as urlsplit and requests read
#: it (so a password holding '@' is masked whole, not cut at its first '@'). The scheme is matched from the
#: start of its run of scheme characters only: tried from every letter, a long word costs quadratic time.
#: A password holding an unencoded '/', '?' or '#' (an invalid URL, yet a secret all the same) runs to the
#: next '@' (never past another "://": linear time), unless what follows the ':' is a port
#: (``http://h:80/a@b``).
_URI_CREDENTIALS = re.compile(
    r"(?P<head>(?<![A-Za-z0-9+.\-])[A-Za-z0-9+.\-]+://[^\s:/@'\"]*):"
    r"(?P<secret>[^\s/'\"]+|(?!\d*(?:[/?#]|$))(?:(?!://)[^\s'\"@])+)@"
)

#: a quoted value; a backslash escapes the next character (MySQL, BigQuery, Snowflake): where it does not,
#: the value reads on to a later quote, which masks more than needed, never less
_QUOTED = r"(?:'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|\$\$.*?\$\$)"
#: a quoted value with a string prefix (PostgreSQL ``E'..'`` / ``U&'..'``, ``N'..'``, ``B'..'``, ``X'..'``)
_PREFIXED_QUOTED = r"(?:[EeNnBbXx]|[Uu]&)?" + _QUOTED
#: ``SET PASSWORD [FOR user] = 'p'`` / ``= PASSWORD('p')`` (MySQL, MariaDB)
_SET_PASSWORD = re.compile(
    r"(?P<key>\bSET\s+PASSWORD\b[^=;]*=\s*(?:PASSWORD\s*\(\s*)?)(?P<value>" + _PREFIXED_QUOTED + ")",
    re.IGNORECASE | re.DOTALL,
)
#: keyword (optionally followed by = or BY / WITH) then a quoted or bare secret value
_SECRET_OPTIONS = re.compile(
    r"(?P<key>\b(?:PASSWORD|IDENTIFIED\s+(?:BY|WITH\s+\w+\s+BY)|AWS_SECRET_ACCESS_KEY|AWS_SECRET_KEY"
    r"|AWS_KEY_ID|AWS_ACCESS_KEY_ID|AWS_TOKEN|AWS_SESSION_TOKEN|SECRET_ACCESS_KEY|ACCESS_KEY_ID|SESSION_TOKEN"
    r"|AZURE_SAS_TOKEN|SAS_TOKEN|MASTER_KEY|SECRET|CREDENTIALS|CREDENTIAL|ACCESS_KEY|PRIVATE_KEY|TOKEN"
    r"|IAM_ROLE|ENCRYPTION_KEY|KMS_KEY_ID|CLIENT_SECRET|ACCOUNT_KEY|KEY_ID)\b\s*(?:=\s*|\s+)?)"
    r"(?P<value>"
    + _PREFIXED_QUOTED
    + r"|(?![(=])[^\s,;()'\"]+)",  # a bare value ends at a quote: it may close a literal
    re.IGNORECASE | re.DOTALL,
)
#: key=value secrets inside connection strings ("...;Password=abc;...", "password=abc host=...")
_CONN_STRING_SECRETS = re.compile(
    r"(?P<key>\b(?:password|pwd|passwd|secret|token|accountkey|sharedaccesssignature|sig)\s*=\s*)"
    r"(?P<value>[^;'\"\s&]+)",
    re.IGNORECASE,
)
#: CREDENTIALS = ( ... ) / CREDENTIAL ( ... ) blocks (Snowflake, Redshift): mask every value inside
#: (a ')' inside a quoted value does not end the block)
#: (atomic and possessive: "$$" and "''" could otherwise be split two ways, exponential on an unclosed block)
_CREDENTIAL_BLOCK = re.compile(
    r"(?P<key>\bCREDENTIALS?\s*=?\s*)\((?P<body>(?:(?>" + _QUOTED + r")|[^)'\"$]|\$(?!\$))*+)\)",
    re.IGNORECASE | re.DOTALL,
)
#: ``SET s3_secret_access_key = '..'`` (DuckDB), ``SET GLOBAL my_token TO ..``: a setting whose name says
#: secret, whatever its prefix (the options above need a word boundary before the keyword)
_SECRET_SETTING = re.compile(
    r"(?P<key>\bSET\s+(?:GLOBAL\s+|SESSION\s+|LOCAL\s+)?[\w.]*?"
    r"(?:secret|password|passwd|token|key_id|access_key|account_key|connection_string|credential)\w*"
    r"\s*(?:=|\bTO\b)\s*)(?P<value>" + _PREFIXED_QUOTED + r"|[^\s,;()'\"]+)",
    re.IGNORECASE | re.DOTALL,
)
#: table functions and table engines that take credentials as positional arguments (ClickHouse, DuckDB
#: extensions): the name, then its argument list (:func:`_argument_lists`)
_CREDENTIAL_CALL = re.compile(
    r"(?<![\w.])(?P<name>s3|s3Cluster|S3|S3Queue|gcs|oss|cosn|deltaLake|hudi|iceberg|icebergS3|"
    r"azureBlobStorage|AzureBlobStorage|postgresql|PostgreSQL|MaterializedPostgreSQL|mysql|MySQL|"
    r"MaterializedMySQL|mongodb|MongoDB|redis|Redis|remote|remoteSecure)\s*\(",
)
#: what an object-store function takes after its URL besides credentials: a format or a compression
_FORMAT_WORD = re.compile(
    r"(?:CSV|TSV|TabSeparated|JSON|Parquet|ORC|Avro|Arrow|Native|RowBinary|Values|LineAsString|RawBLOB|"
    r"Protobuf|Npy|Template|Regexp|CustomSeparated|MsgPack|BSON|Markdown|Pretty|XML|SQLInsert|CapnProto|"
    r"One|Form|Hive|Null|MySQLDump|DWARF)\w*|gzip|gz|zstd|zst|lz4|brotli|br|xz|deflate|none|auto|bz2|"
    r"bzip2|snappy|lzma",
    re.IGNORECASE,
)
_BLOCK_VALUE = re.compile(r"(?P<key>\w+\s*=?\s*)(?P<value>" + _QUOTED + r"|[^\s,)]+)", re.DOTALL)

_LITERALS = re.compile(
    r"(?P<skip>--[^\n]*|/\*.*?\*/|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]\n]*\])"
    # a literal left open (the statement is cut or broken) runs to the end: masked all the same
    r"|(?P<lit>'(?:[^'\\]|\\.|'')*(?:'|\Z)|\$\$.*?(?:\$\$|\Z)|(?<![\w.$])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]))",
    re.DOTALL,
)


def redact_uri_credentials(text: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host`` everywhere in ``text``."""
    return _URI_CREDENTIALS.sub(lambda m: f"{m.group('head')}:{MASK}@", text)


def redact_connection_secrets(text: str) -> str:
    """``password=..``, ``token=..``, ``sig=..`` (connection strings, DSNs, URL query strings) -> ``***``."""
    return _CONN_STRING_SECRETS.sub(lambda m: m.group("key") + MASK, text)


def _mask_value(value: str) -> str:
    if value[:1] in ("'", '"'):
        return value[0] + MASK + value[0]
    if value.startswith("$$"):
        return "$$" + MASK + "$$"
    return MASK


def _mask_block(match: re.Match[str]) -> str:
    body = _BLOCK_VALUE.sub(lambda m: m.group("key") + _mask_value(m.group("value")), match.group("body"))
    return f"{match.group('key')}({body})"


def _argument_lists(text: str) -> dict[int, list[tuple[int, int]]]:
    """Every bracketed list of ``text`` that closes: the index of its '(' -> its top-level arguments'
    ``(start, end)``. One pass over the text (linear however many calls it holds); quotes (with doubled or
    backslash-escaped quote characters inside) are skipped."""
    lists: dict[int, list[tuple[int, int]]] = {}
    stack: list[tuple[int, list[tuple[int, int]], int]] = []  # (index of '(', arguments so far, start)
    quote, i, n = "", 0, len(text)
    while i < n:
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                if i + 1 < n and text[i + 1] == quote:
                    i += 1
                else:
                    quote = ""
        elif char in "'\"`":
            quote = char
        elif char in "([{":
            stack.append((i, [], i + 1))
        elif char in ")]}" and stack:
            opened, spans, begin = stack.pop()
            spans.append((begin, i))
            lists[opened] = spans
        elif char == "," and stack:
            opened, spans, begin = stack[-1]
            spans.append((begin, i))
            stack[-1] = (opened, spans, i + 1)
        i += 1
    return lists


def _string_value(text: str) -> str | None:
    """The content of a quoted string argument (None: not a single quoted string)."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] in "'\"" and stripped[-1] == stripped[0]:
        return stripped[1:-1]
    return None


def _secret_positions(name: str, arguments: list[str]) -> list[int]:
    """Which arguments of a call to ``name`` are credentials."""
    lowered = name.lower()
    if lowered in ("postgresql", "materializedpostgresql", "mysql", "materializedmysql", "mongodb", "redis"):
        return [4]  # (host:port, database, table, user, password ...); redis: (host, key, structure, db, pw)
    if lowered in ("remote", "remotesecure"):
        # ('addresses', db.table, 'user', 'password') or ('addresses', db, table, 'user', 'password')
        table_in_one = len(arguments) > 1 and "." in arguments[1] and _string_value(arguments[1]) is None
        return [3] if table_in_one else [4]
    if lowered == "azureblobstorage":
        return [4]  # (connection string or account URL, container, path, account name, account key ...)
    first = 2 if lowered == "s3cluster" else 1  # s3Cluster(cluster, url, ...)
    # (url, [key id, secret[, session token]], [format], [structure], [compression]): every quoted word
    # after the URL that is neither a format, a compression nor a structure (which has spaces)
    return [
        index
        for index, argument in enumerate(arguments)
        if index >= first
        and (value := _string_value(argument)) is not None
        and value
        and not any(c.isspace() for c in value)
        and not _FORMAT_WORD.fullmatch(value)
    ]


def _mask_credential_calls(sql: str) -> str:
    """Positional credentials of table functions and engines (``s3(url, 'key', 'secret', 'CSV')``,
    ``postgresql(host, db, table, user, 'password')``, ``remote(addr, db.t, user, 'password')`` ...)."""
    if _CREDENTIAL_CALL.search(sql) is None:
        return sql
    masks: list[tuple[int, int]] = []
    lists = _argument_lists(sql)
    for match in _CREDENTIAL_CALL.finditer(sql):
        spans = lists.get(match.end() - 1)
        if spans is None:  # never closed
            continue
        arguments = [sql[a:b] for a, b in spans]
        for index in _secret_positions(match.group("name"), arguments):
            if index < len(spans) and _string_value(arguments[index]) is not None:
                a, b = spans[index]
                masks.append((a, b))
    if not masks:
        return sql
    out, last = [], 0
    for a, b in sorted(masks):
        if a < last:
            continue
        text = sql[a:b]
        lead = len(text) - len(text.lstrip())
        quote = text.strip()[0]
        out.append(sql[last : a + lead] + quote + MASK + quote)
        last = a + lead + len(text.strip())
    out.append(sql[last:])
    return "".join(out)


def redact_sql(sql: str, *, mask_literals: bool = False) -> str:
    """Return ``sql`` with credentials replaced by ``***`` (and every literal by ``?`` if asked)."""
    if not sql:
        return sql
    out = redact_uri_credentials(sql)
    out = _CREDENTIAL_BLOCK.sub(_mask_block, out)
    out = _SET_PASSWORD.sub(lambda m: m.group("key") + _mask_value(m.group("value")), out)
    out = _SECRET_OPTIONS.sub(lambda m: m.group("key") + _mask_value(m.group("value")), out)
    out = _SECRET_SETTING.sub(lambda m: m.group("key") + _mask_value(m.group("value")), out)
    out = _mask_credential_calls(out)
    out = redact_connection_secrets(out)
    if mask_literals:
        out = _LITERALS.sub(lambda m: m.group(0) if m.group("skip") else "?", out)
    return out
