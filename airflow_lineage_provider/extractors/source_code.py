"""The ``sourceCode`` job facet: what a Python or Bash task runs, with credentials masked.

Only when ``[lineage_provider] include_source_code`` is on. A task with a ``python_callable``
(PythonOperator and its subclasses, ``@task``, ``@task.branch`` ...) gets the callable's source; one with a
string ``bash_command`` (BashOperator, and ``@task.bash`` once its callable has produced the command) gets
the command as rendered. Anything else gets nothing.

Masking happens here, before the emitter's own redaction (which masks every value Airflow's secrets masker
knows): credentials in URIs, ``key=value`` secrets of connection strings, values given to a name that says
secret (assignments, also tuple and chained ones, keyword arguments, dict entries, subscripts, YAML, ini and
.env lines in heredocs and triple-quoted strings), with every string the value is built from
(``"Bearer " + "..."``, ``"{}".format("...")``); secrets given positionally to calls that take them so
(``connect(host, user, "...")``, ``login(user, "...")``), defaults of lookups of secret names
(``os.getenv("TOKEN", "...")``), flags followed by their secret (``--password x``, ``mysql -px``,
``sshpass -p x``, ``docker login -p x``, ``redis-cli -a x``), passwords in SQL written in strings
(``IDENTIFIED BY '...'``, ``PASSWORD '...'``), ``Authorization:`` and other secret header values,
``curl -u user:password``, ``auth=("user", "password")``, and secrets known by their shape (AWS access key
ids, GitHub/Slack/Stripe/Google/OpenAI keys, JSON web tokens, PEM private keys).

A name says secret by its words (see ``_is_secret_name``): ``password``, ``token``, ``secret``, ``api_key``
... and no later word that makes it about something else (``token_type``, ``password_file``).
Every pattern and scanner is linear in the length of the code, and none raises on odd input.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import textwrap
from typing import Any

from airflow_lineage_provider.sql.redact import MASK, redact_uri_credentials

log = logging.getLogger(__name__)

#: the words of a name: ``clientSecret`` -> client, secret; ``DB_PASSWORD2`` -> DB, PASSWORD, 2
_NAME_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
#: a word that names a secret when it ends so (``dbpassword``, ``accesstoken``), a plural ``s`` aside
_SECRET_ENDINGS = (
    "password", "passwd", "passphrase", "pwd", "secret", "token", "credential", "authorization", "apikey",
    "authkey", "accesskey", "secretkey", "privatekey", "accountkey", "masterkey", "signingkey",
)  # fmt: skip
#: words that name a secret only as the last word of a name (``pass`` but not ``pass_rate``)
_SECRET_LAST = frozenset({"pass", "sig", "creds", "cred", "bearer"})
#: ``key`` names a secret after one of these (``api_key``, ``AWS_SECRET_ACCESS_KEY``; not ``primary_key``)
_KEY_KINDS = frozenset(
    {"api", "access", "secret", "private", "signing", "sign", "encryption", "master", "account", "client",
     "app", "consumer", "shared", "sas", "auth", "ssh", "hmac", "session", "storage", "subscription"}
)  # fmt: skip
#: a word after the secret one that makes the name about something else (``token_type``, ``password_file``)
_NOT_THE_SECRET = frozenset(
    {"type", "types", "method", "methods", "kind", "name", "names", "id", "ids", "arn", "url", "urls", "uri",
     "endpoint", "host", "file", "files", "filename", "path", "paths", "dir", "directory", "folder", "count",
     "counter", "len", "length", "size", "policy", "policies", "rule", "rules", "field", "fields", "column",
     "columns", "header", "expiry", "expires", "expiration", "expire", "ttl", "timeout", "lifetime", "age",
     "provider", "mode", "scheme", "version", "prompt", "label", "hint", "format", "pattern", "regex", "var",
     "vars", "variable", "env", "attr", "attribute", "backend", "manager", "class", "cls", "enabled",
     "required", "stdin", "cmd", "command", "limit", "prefix", "location"}
)  # fmt: skip
#: a first word that makes the name a count or a flag (``max_tokens``, ``has_password``)
_NOT_A_SECRET_START = frozenset({"max", "min", "num", "total", "is", "has"})


def _is_secret_name(name: str) -> bool:
    """Whether ``name`` names a secret: one of its words is a secret word and no word after it says the
    name is about something else (its type, file, url, name ...)."""
    return _names_secret(name[-200:])  # a bounded key: the cache holds no huge names


@functools.lru_cache(maxsize=4096)
def _names_secret(name: str) -> bool:
    words = [w.lower() for w in _NAME_WORD.findall(name) if not w.isdigit()]
    last = -1
    for i, word in enumerate(words):
        stem = word[:-1] if word.endswith("s") else word
        if (
            stem.endswith(_SECRET_ENDINGS)
            or (stem == "key" and i > 0 and words[i - 1] in _KEY_KINDS)
            or (word in _SECRET_LAST and i == len(words) - 1)
            or (word == "signature" and i > 0 and words[i - 1] == "access")
        ):
            last = i
    if last < 0 or (last > 0 and words[0] in _NOT_A_SECRET_START):
        return False
    return _NOT_THE_SECRET.isdisjoint(words[last + 1 :])


#: where a name starts (never inside a word: one start per word keeps the scans linear)
_NAME = r"(?<![\w\-])(?P<lead>--|[\"'])?(?P<name>[A-Za-z_][\w\-]*+)"
#: ``name = "value"``, ``name: str = "value"``, ``name="value"`` (a keyword argument), ``"name": "value"``
#: (a dict), ``name: 'value'`` (YAML), ``env["name"] = "value"``, ``name := "value"``, ``name = (\n "value"``;
#: up to the opening quote (the closing one is found by _quoted_spans)
_QUOTED_ASSIGNMENT = re.compile(
    _NAME + r"\\?[\"']?\]?[ \t]*(?::[^=\n:]{1,80}?=|:=|:|=)[ \t]*(?P<paren>\(\s*+)?(?:[rbfuRBFU]{0,2}|\$)"
    r"(?P<escaped>\\?)(?P<quote>\"\"\"|'''|\"|')"
)
#: what follows a string in parentheses that is the whole value: ``)`` or the next part of it
_PAREN_STRING_END = re.compile(r"\s*+[)\"'rbfuRBFU]")
#: shell ``export NAME=value`` / ``NAME=value cmd`` / ``--password=value`` / ``Password=x;`` with a bare value
#: (not a call or an index: ``password=get_secret("db")`` is code, not a secret)
_BARE_ASSIGNMENT = re.compile(_NAME + r"=(?P<value>[^\s\"'$;&|(\[=][^\s\"';&|(\[]*+)(?![(\[])")
#: ``--password value``, ``--with-token "value"``, ``"--token", "value"`` (an argument list): a flag whose
#: name says secret, then its value as the next argument (not a variable, not another flag)
_SECRET_FLAG = re.compile(
    r"(?<![\w\-])(?P<fq>[\"']?)--(?P<name>[A-Za-z][\w\-]*+)(?P=fq)(?P<sep>[ \t]+|[ \t]*,[ \t]*)"
    r"(?P<q>[\"']?)(?P<value>[^\s\"'$\-{<>|;&,()\[\]][^\s\"'<>|;&,()\[\]]*+)"
)
#: a secret flag's name that names something else than the secret itself (``--password-file``, ...)
_NOT_A_SECRET_FLAG = re.compile(r"-(?:file|path|stdin|env|dir|name|type|id|length|command|cmd)$", re.I)
#: ``Authorization: Bearer abc`` (curl -H, requests headers written as text)
_AUTH_HEADER = re.compile(
    r"(?P<key>\bAuthorization[ \t]*:[ \t]*(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?)(?P<value>[^\s\"']+)",
    re.IGNORECASE,
)
#: ``"X-Api-Key: abc"``, ``'Private-Token: abc'``: a header written as text whose name says secret
_SECRET_HEADER = re.compile(
    r"(?<=[\"'])(?P<key>(?P<name>[A-Za-z]\w*+(?:-\w++)*+)[ \t]*:[ \t]*"
    r"(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?)(?P<value>[^\s\"']+)"
)
#: ``curl -u user:password`` / ``--user user:password`` / ``-u user:"password"``
_CURL_USER = re.compile(r"(?P<key>(?:\s-u[ \t]*|--user[= \t])[\"']?[^\s:\"']*+:[\"']?)(?P<value>[^\s\"']+)")
#: ``auth=("user", "password")`` (requests), ``HTTPBasicAuth("user", "password")``: the second string
_AUTH_PAIR = re.compile(
    r"(?P<key>(?:\bauth[ \t]*=[ \t]*\(|\b(?:HTTPBasicAuth|HTTPDigestAuth|HTTPProxyAuth|BasicAuth)\()\s*+"
    r"(?:[rbfuRBFU]{0,2}(?:\"[^\"\n]*+\"|'[^'\n]*+')|[\w.]++)\s*+,\s*+[rbfuRBFU]{0,2}[\"'])"
    r"(?P<value>[^\"'\n]++)"
)
#: YAML (in a string or a heredoc) ``password: value`` with a bare value, one per line
_YAML_BARE = re.compile(
    r"(?m)^(?P<key>[ \t]*(?:-[ \t]+)?(?P<lead>[\"']?)(?P<name>[A-Za-z_][\w\-]*+)[\"']?[ \t]*:[ \t]+)"
    r"(?P<value>[^\s\"'$#{\[!&*|>%@`][^\n]*+)"
)
#: what after ``password:`` is Python (an annotation, a dict entry), not a YAML value
#: (a type is a builtin or a class name of letters only: ``ConnectionField | None``, ``_t.AuthType``)
_TYPE = r"(?:[A-Za-z_]\w*+\.)*+(?:str|bytes|int|float|bool|dict|list|tuple|set|object|None|[A-Z][A-Za-z]*+)\b"
_PYTHON_AFTER_COLON = re.compile(
    rf"{_TYPE}(?:[ \t]*\|[ \t]*{_TYPE})*+[ \t]*(?:#[^\n]*)?$|{_TYPE}\["
    r"|[^\n]*[=(\[\"']|[^\n]*,[ \t]*$"
)
#: secrets recognised by their shape wherever they are: AWS access key ids, GitHub, Slack, Stripe, Google
#: and OpenAI keys, JSON web tokens, the path of a Slack webhook (tried only where a word starts, each run
#: of word characters read once: linear time)
_SHAPED = re.compile(
    r"(?<![\w\-])(?:(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_\w{20,}+"
    r"|xox[abposr]-[\w\-]{10,}+|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}+|AIza[\w\-]{30,}+"
    r"|sk-(?:proj-)?[\w\-]{32,}+|eyJ[\w\-]{8,}+\.eyJ[\w\-]{8,}+\.[\w\-]{8,}+)(?![\w\-])"
    r"|(?<=hooks\.slack\.com/services/)[\w/]++"
)
#: ``-----BEGIN ... PRIVATE KEY-----``: what follows, up to its END line, is masked
_KEY_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY-----")
_KEY_END = "-----END"
#: commands whose ``-p`` flag carries a password: attached (``mysql -phunter2``) or as the next argument
_P_ATTACHED = frozenset(
    {"mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mysqlsh", "mariadb",
     "mariadb-dump", "mariadb-admin", "sshpass"}
)  # fmt: skip
#: commands whose flag takes the password as the next argument: ``sshpass -p X``, ``mongosh -p X``,
#: ``redis-cli -a X``
_P_NEXT = {
    "sshpass": "-p", "mongo": "-p", "mongosh": "-p", "mongodump": "-p", "mongorestore": "-p",
    "mongoexport": "-p", "mongoimport": "-p", "mongostat": "-p", "mongotop": "-p", "redis-cli": "-a",
}  # fmt: skip
_P_LOGIN = frozenset({"docker", "podman", "buildah", "skopeo", "nerdctl", "helm", "oras"})
#: one shell command (a pipe, ``;``, ``&&`` and a line end separate them) and the words in it
_COMMAND = re.compile(r"[^\n;&|]+")
_COMMAND_WORDS = 4
_WORD = re.compile(r"[^\s\"'\[\](),]+")


def _secret_name(match: re.Match[str]) -> bool:
    return _is_secret_name(match.group("name"))


def _closing_quote(code: str, quote: str, start: int) -> int:
    """Where the string opened just before ``start`` ends: the next ``quote`` no backslash escapes."""
    found = code.find(quote, start)
    while found > 0:
        backslashes = 0
        while found - backslashes - 1 >= start and code[found - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return found
        found = code.find(quote, found + 1)
    return found


def _quoted_spans(code: str) -> list[tuple[int, int]]:
    """Spans of the quoted values assigned to secret names (the text between the quotes)."""
    spans: list[tuple[int, int]] = []
    closing: dict[str, tuple[int, int]] = {}  # quote -> (searched from, found at): each find done once
    tuples = _tuple_targets(code)
    in_tuple, searched_end, line = 0, -1, (-1, -2)
    for match in _QUOTED_ASSIGNMENT.finditer(code):
        while in_tuple < len(tuples) and tuples[in_tuple][1] <= match.start():
            in_tuple += 1
        if in_tuple < len(tuples) and tuples[in_tuple][0] <= match.start():
            continue  # ``user, password = "etl", ...``: not the value of password (_expression_spans)
        if not _secret_name(match):
            continue
        quote, start = match.group("quote"), match.end()
        if match.group("escaped"):  # ``\"password\": \"x\"`` (JSON in a string): up to the next ``\"``
            if not line[0] <= start <= line[1]:  # the end of this line, found once per line
                end = code.find("\n", start)
                line = (start, len(code) if end == -1 else end)
            end = line[1]
            searched_from, found = closing.get("\\" + quote, (-1, -1))
            if not (
                0 <= searched_from <= start and (found >= start or (found == -1 and end == searched_end))
            ):
                found = code.find("\\" + quote, start, end)
                closing["\\" + quote], searched_end = (start, found), end
            spans.append((start, end if found == -1 else found))
            continue
        searched_from, found = closing.get(quote, (-1, -1))
        if not (0 <= searched_from <= start and (found >= start or found == -1)):
            found = _closing_quote(code, quote, start)
            closing[quote] = (start, found)
        if match.group("paren") and found != -1 and not _PAREN_STRING_END.match(code, found + len(quote)):
            continue  # ``name = ("a", "b")``: a tuple, not one string in parentheses
        if found == -1:  # an unclosed string: the rest of its line
            line_end = code.find("\n", start)
            found = len(code) if line_end == -1 else line_end
        spans.append((start, found))
    return spans


def _private_key_spans(code: str) -> list[tuple[int, int]]:
    """The bodies of PEM private keys, up to their END line (one without it: to the end of the text)."""
    spans: list[tuple[int, int]] = []
    end = 0  # the END marker found last; -1: there is none after it
    for match in _KEY_BEGIN.finditer(code):
        start = match.end()
        if spans and start < spans[-1][1]:
            continue  # inside a key masked already
        if end != -1 and end < start:
            end = code.find(_KEY_END, start)
        spans.append((start, len(code) if end == -1 else end))
        if end == -1:
            break
    return spans


def _mask_spans(code: str, spans: list[tuple[int, int]]) -> str:
    out, at, masked = [], 0, False
    for start, end in sorted(spans):
        if end <= start:
            continue
        if masked and start <= at:  # overlaps the span masked last: one mask for both
            at = max(at, end)
            continue
        out.append(code[at:start])
        out.append(MASK)
        at, masked = end, True
    out.append(code[at:])
    return "".join(out)


def _mask_bare(match: re.Match[str]) -> str:
    if not _secret_name(match):
        return match.group(0)
    return match.group(0)[: match.start("value") - match.start()] + MASK


def _mask_flag(match: re.Match[str]) -> str:
    name = match.group("name")
    if not _is_secret_name(name) or _NOT_A_SECRET_FLAG.search(name):
        return match.group(0)
    if bool(match.group("fq")) != ("," in match.group("sep")):
        return match.group(0)  # a quoted flag and its value are items of a list; a bare one is shell
    return match.group(0)[: match.start("value") - match.start()] + MASK


def _mask_yaml(match: re.Match[str]) -> str:
    value = match.group("value")
    if not _secret_name(match) or _PYTHON_AFTER_COLON.match(value):
        return match.group(0)
    comment = value.find(" #")
    return match.group("key") + MASK + (value[comment:] if comment >= 0 else "")


def _p_flag_spans(code: str) -> list[tuple[int, int]]:
    """Passwords given with ``-p`` to commands that read one so: ``mysql -pX``, ``sshpass -p X``,
    ``docker login -p X``."""
    spans: list[tuple[int, int]] = []
    if "-p" not in code and "-a" not in code:
        return spans
    for command in _COMMAND.finditer(code):
        if "-p" not in command.group(0) and "-a" not in command.group(0):
            continue
        words = list(_WORD.finditer(command.group(0)))
        # the command is among its first words, before any option (after ``sudo``, ``VAR=x``,
        # ``subprocess.run([``): ``ls -l /var/lib/mysql`` does not run mysql
        names = set()
        for word in words[:_COMMAND_WORDS]:
            if word.group(0).startswith("-"):
                break
            names.add(word.group(0).rsplit("/", 1)[-1])
        attached = not names.isdisjoint(_P_ATTACHED)
        flags = {_P_NEXT[name] for name in names if name in _P_NEXT}
        if "login" in names and not names.isdisjoint(_P_LOGIN):
            flags.add("-p")
        if not (attached or flags):
            continue
        offset, line = command.start(), command.group(0)
        for position, word in enumerate(words):
            text = word.group(0)
            if attached and text.startswith("-p") and len(text) > 2:
                spans.append((offset + word.start() + 2, offset + word.end()))
            elif (
                attached
                and text == "-p"
                and line[word.end() : word.end() + 1] in ("'", '"')
                and line[word.start() - 1 : word.start()] not in ("'", '"')  # not the item ``"-p"`` of a list
            ):
                close = line.find(line[word.end()], word.end() + 1)  # ``-p'secret'``
                spans.append((offset + word.end() + 1, offset + (len(line) if close == -1 else close)))
            elif text in flags and position + 1 < len(words):
                value = words[position + 1]
                if not value.group(0).startswith(("$", "-")):
                    spans.append((offset + value.start(), offset + value.end()))
    return spans


#: how far one expression or call is read (longer ones are read that far: bounded work per start)
_SCAN_LIMIT = 20_000
#: where a string literal starts: its prefix (``r``, ``b``, ``f`` ..., or ``$`` of a shell ANSI-C string)
_STRING_START = re.compile(r"(?:[rRbBuUfF]{1,2}|\$)?(\"\"\"|'''|\"|')")
#: the other tokens of an expression or an argument list
_TOKEN = re.compile(
    r"(?P<space>[ \t\f\r]++|\\\n|#[^\n]*+)|(?P<newline>\n)"
    r"|(?P<name>\.?[A-Za-z_]\w*+(?:\.[A-Za-z_]\w*+)*+)|(?P<number>\d[\w.]*+)"
    r"|(?P<op>==|!=|<=|>=|:=|\*\*|//|->|[-+*/%|&^<>~@])|(?P<char>.)",
    re.DOTALL,
)
#: words that join the parts of one value (``"a" if x else "b"``)
_VALUE_KEYWORDS = frozenset({"if", "else", "or", "and", "not", "in", "is"})
#: the start of a value given to a name: ``name = ``, ``name: T = ``, ``name=``, ``"name": ``, ``name := ``,
#: ``env["name"] = ``
_TARGET = re.compile(_NAME + r"\\?[\"']?\]?[ \t]*(?::[^=\n:()]{1,80}?=(?!=)|:=|=(?![=~])|:(?![:=]))[ \t]*")
#: ``a, b = ...``, ``(a, b) = ...`` at the start of a line
_TUPLE_TARGET = re.compile(
    r"(?m)^[ \t]*[(\[]?[ \t]*(?P<targets>[A-Za-z_][\w.]*+(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*+)++)"
    r"[ \t]*,?[ \t]*[)\]]?[ \t]*=(?!=)[ \t]*"
)
#: a call: ``name(``, ``a.b.name(``, ``).name(``
_CALL = re.compile(r"(?<!\w)(?P<callee>\.?[A-Za-z_]\w*+(?:\.[A-Za-z_]\w*+)*+)\(")
#: calls that look a value up or set it by its name: a string naming a secret makes the strings given
#: after it secrets (``os.getenv("TOKEN", "...")``, ``setattr(o, "password", "...")``)
_LOOKUPS = frozenset(
    {"get", "getenv", "setdefault", "pop", "putenv", "setenv", "get_variable", "set", "setattr", "getattr",
     "set_variable"}
)  # fmt: skip
#: calls that only transform the text they are given: inside a secret's value, their strings are the secret
_TRANSFORMS = frozenset(
    {"b64encode", "urlsafe_b64encode", "standard_b64encode", "b32encode", "b16encode", "hexlify", "quote",
     "quote_plus", "format", "join", "str", "bytes"}
)  # fmt: skip
_DEFAULT_KEYWORDS = frozenset({"default", "default_var", "fallback", "default_value", "value"})
#: calls that take a secret positionally: the first position holding one (every later string is masked
#: too): ``connect(host, user, password, database)``, ``login(user, password)``, ``Redis(host, port, db,
#: password)``, boto3's ``Session(key_id, secret, token)`` and ``client(service, region, api_version,
#: use_ssl, verify, endpoint_url, key_id, secret, token)``
_SECRET_POSITION = {
    "connect": 2, "Connect": 2, "Connection": 2, "login": 1, "simple_bind_s": 1, "bind_s": 1, "FTP": 2,
    "FTP_TLS": 2, "Redis": 3, "StrictRedis": 3, "Session": 1, "client": 7, "resource": 7, "Github": 1,
    "cx_Oracle.connect": 1, "oracledb.connect": 1, "cx_Oracle.Connection": 1, "hvac.Client": 1,
    "URL.create": 2,
}  # fmt: skip
#: an AWS access key id given as a string and, as the next argument, its secret access key (8 characters
#: or more: a placeholder such as ``"x"`` is left)
_AWS_KEY_PAIR = re.compile(
    r"(?P<q>[\"'])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?P=q)[ \t\n]*+,[ \t\n]*+(?:[A-Za-z_]\w*+[ \t]*=[ \t]*)?"
    r"[rbuRBU]?(?P<q2>[\"'])(?P<value>[^\s\"'\\]{8,}+)(?P=q2)"
)
#: SQL in a string: ``IDENTIFIED BY 'x'`` / ``IDENTIFIED BY x``, ``PASSWORD 'x'``, ``PASSWORD('x')``
#: (``PASSWORD = 'x'`` is an assignment to a secret name already), ``SET PASSWORD FOR u = 'x'`` (a quote
#: may be escaped: ``\'x\'``)
_SQL_QUOTED = r"(?P<q>\\?(?P<qc>['\"]))(?P<value>(?:(?!(?P=qc)|\\)[^\n])*+)"
_SQL_IDENTIFIED = re.compile(
    r"\bIDENTIFIED[ \t]+(?:WITH[ \t]+\w+[ \t]+)?BY(?:[ \t]+PASSWORD)?[ \t]+(?:"
    + _SQL_QUOTED
    + r"|(?P<bare>[^\s'\";)\\(]++))",
    re.IGNORECASE,
)
_SQL_PASSWORD = re.compile(
    r"(?:(?<=\s)PASSWORD(?:[ \t]+|\([ \t]*)"
    r"|\bSET[ \t]+PASSWORD\b[^=;\n'\"]{0,100}=[ \t]*(?:PASSWORD[ \t]*\([ \t]*)?)" + _SQL_QUOTED,
    re.IGNORECASE,
)
#: Oracle's ``user/password@db`` (sqlplus and its tools, a thin JDBC URL, cx_Oracle/oracledb.connect)
_ORACLE_LOGIN = re.compile(
    r"(?:(?<![\w\-])(?:sqlplus|sqlldr|expdp|impdp|exp|imp|rman|dgmgrl)(?:[ \t]+-\w+)*+[ \t]+"
    r"|jdbc:oracle:\w+:|(?:cx_Oracle|oracledb)\.connect\([ \t]*[rbuRBU]?[\"'])"
    r"[\w$#]++/(?P<value>[^\s/@'\"]++)(?=[@\s'\"]|$)"
)
#: ``openssl ... -passin pass:X`` (also -passout, -pass, -password)
_OPENSSL_PASS = re.compile(r"(?<![\w\-])-pass(?:in|out|word)?[ \t]+[\"']?pass:(?P<value>[^\s\"']++)")
#: ``aws configure set NAME VALUE``, ``git config NAME VALUE``, ``heroku config:set NAME=VALUE`` is a bare
#: assignment already
_CONFIG_SET = re.compile(
    r"(?<![\w\-])(?:configure[ \t]+set|config(?:[ \t]+set)?)[ \t]+(?:--?[\w\-]++[ \t]+)*+"
    r"(?P<name>[A-Za-z_][\w.\-]*+)[ \t]+(?P<value>[^\s\"'$|;&]++)"
)
#: a heredoc (its body: the lines up to its tag) and a triple-quoted string hold text of config files; the
#: strings and comments around them are read past, so that a quote inside one does not start a block
_TEXT_BLOCK = re.compile(
    r"<<-?[ \t]*(?P<q>['\"]?)(?P<tag>[A-Za-z_]\w*+)(?P=q)[^\n]*+\n"
    r"|(?P<triple>\"\"\"|\'\'\')|(?<!\S)#[^\n]*+"
    r"|\"(?:[^\"\\\n]|\\.)*+\"?|'(?:[^'\\\n]|\\.)*+'?",
)
#: ``name = value`` lines of ini, properties and .env files (inside such a block)
_CONFIG_LINE = re.compile(
    r"(?m)^[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][\w.\-]*+)[ \t]*=[ \t]*(?P<value>[^\s\"'$`(\[{][^\n]*+)"
)


def _string_end(code: str, quote: str, start: int, limit: int) -> tuple[int, int]:
    """(where the content ends, where the literal ends) of the string whose content starts at ``start``;
    an unclosed one runs to its line end (three quotes: to ``limit``)."""
    found = code.find(quote, start, limit)
    while found != -1 and (len(quote) == 3 or code.find("\n", start, found) == -1):
        backslashes = 0
        while found - backslashes - 1 >= start and code[found - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return found, found + len(quote)
        found = code.find(quote, found + 1, limit)
    end = limit if len(quote) == 3 else code.find("\n", start, limit)
    return (limit, limit) if end == -1 else (end, end)


def _value_spans(code: str, pos: int, spans: list[tuple[int, int]], items: set[int] | None = None) -> int:
    """Add to ``spans`` the string literals that make up the value starting at ``pos`` (``"a" + "b"``,
    ``"a" "b"``, ``PREFIX + "b"``, ``"Bearer {}".format("b")``, ``("a"\\n "b")``, ``x = y = "a"``), not those
    given to a call or used as an index (``get_secret("db")``, ``env["PW"]``). ``items``: for a tuple target,
    which items of the value are secret (commas part them); None: one value, which a comma ends.
    Returns where the value ends."""
    limit = min(len(code), pos + _SCAN_LIMIT)
    # open brackets: [whether the strings inside are part of the value, spans found before it, whether it is
    # a tuple or a list of several items (names of secrets, ``("AWS_SECRET_ACCESS_KEY", ...)``: left alone)]
    stack: list[list[Any]] = []
    opaque = 0  # open brackets that are a call, an index or a dict
    previous, item, base, first = "start", 0, 0, True
    last_name = ""  # the name just read (the callee when a parenthesis follows)
    while pos < limit:
        string = _STRING_START.match(code, pos, limit)
        if string:
            if not stack and previous == "operand":
                return pos  # ``NAME=x cmd "arg"``: the value has ended
            content_end, pos = _string_end(code, string.group(1), string.end(), limit)
            if opaque == 0 and (items is None or item in items):
                spans.append((string.end(), content_end))
            previous, first, last_name = "string", False, ""
            continue
        token = _TOKEN.match(code, pos, limit)
        if token is None:
            return pos
        kind, text = token.lastgroup, token.group(0)
        if kind == "space":
            pos = token.end()
            continue
        callee = last_name
        last_name = text.rsplit(".", 1)[-1] if kind == "name" else ""
        if kind == "newline":
            if not stack:
                return pos
        elif kind in ("name", "number"):
            if text.startswith(".") and previous in ("string", "operand"):
                pass  # an attribute or a method of what was read: ``"{}".format``, ``os.environ``
            elif not stack and previous in ("string", "operand"):
                if text not in _VALUE_KEYWORDS:
                    return pos
                previous, pos = "op", token.end()
                continue
            previous = "operand"
        elif kind == "op":
            previous = "op"
        elif text in "([{":
            transparent = text != "{" and (
                previous in ("start", "op") or (text == "(" and callee in _TRANSFORMS)
            )
            stack.append([transparent, len(spans), False])
            opaque += not transparent
            if first and items is not None and transparent:
                base = 1
            previous = "start"
        elif text in ")]}":
            if not stack:
                return pos
            transparent, mark, several = stack.pop()
            opaque -= not transparent
            if several:
                del spans[mark:]
            previous = "operand"
        elif text == ",":
            if items is not None and len(stack) == base:
                item += 1
            elif not stack:
                return pos
            else:
                stack[-1][2] = True
            previous = "start"
        elif text == "=" and (stack or previous == "operand"):
            previous = "op"  # ``a = b = "x"``
        elif not stack:
            return pos  # ``;``, ``:``, ``$`` ...: the value has ended
        else:
            previous = "op"
        first = False
        pos = token.end()
    return pos


def _expression_spans(code: str) -> list[tuple[int, int]]:
    """The strings in the values of names that say secret, also in tuple assignments and chained ones."""
    spans: list[tuple[int, int]] = []
    for match in _TUPLE_TARGET.finditer(code):
        targets = [t.strip().rsplit(".", 1)[-1] for t in match.group("targets").split(",")]
        secret = {i for i, target in enumerate(targets) if _is_secret_name(target)}
        if secret:
            _value_spans(code, match.end(), spans, secret)
    tuples = _tuple_targets(code)
    scanned, in_tuple = 0, 0
    for match in _TARGET.finditer(code):
        while in_tuple < len(tuples) and tuples[in_tuple][1] <= match.start():
            in_tuple += 1
        if in_tuple < len(tuples) and tuples[in_tuple][0] <= match.start():
            continue  # a name of ``a, b = ...``: done above
        if match.start() < scanned or not _secret_name(match):
            continue  # inside a value read already (reading it again could cost quadratic time)
        scanned = _value_spans(code, match.end(), spans)
    return spans


def _tuple_targets(code: str) -> list[tuple[int, int]]:
    """Where the target lists of ``a, b = ...`` are."""
    return [(m.start("targets"), m.end()) for m in _TUPLE_TARGET.finditer(code)]


def _given_to_secret_name(code: str, start: int) -> bool:
    """Whether what starts at ``start`` is the value of a name that says secret (``password = ...``,
    ``password=...``, ``"password": ...``)."""
    at = start
    while at > 0 and code[at - 1] in " \t":
        at -= 1
    if at == 0 or code[at - 1] not in "=:" or (at > 1 and code[at - 2] in "=!<>:"):
        return False
    at -= 1
    while at > 0 and code[at - 1] in " \t\"']\\":
        at -= 1
    end = at
    while at > 0 and end - at < 100 and (code[at - 1].isalnum() or code[at - 1] in "_-."):
        at -= 1
    return at < end and _is_secret_name(code[at:end])


class _Call:
    """An open call (or bracket) while an argument list is read: the strings of its arguments."""

    __slots__ = ("arguments", "callee", "empty", "keyword", "pure", "start", "strings")

    def __init__(self, callee: str | None, start: int) -> None:
        self.callee, self.start = callee, start
        self.arguments: list[tuple[str | None, list[tuple[int, int]] | None]] = []
        self.keyword: str | None = None
        self.strings: list[tuple[int, int]] = []
        self.pure, self.empty = True, True

    def end_argument(self) -> None:
        if not self.empty:
            self.arguments.append((self.keyword, self.strings if self.pure and self.strings else None))
        self.keyword, self.strings, self.pure, self.empty = None, [], True, True


def _masked_arguments(code: str, call: _Call) -> list[tuple[int, int]]:
    """The strings given to ``call`` that are secrets: positionally, or as the default of a lookup."""
    if call.callee is None:
        return []
    dotted = call.callee.lstrip(".")
    name = dotted.rsplit(".", 1)[-1]
    position = _SECRET_POSITION.get(".".join(dotted.rsplit(".", 2)[-2:]), _SECRET_POSITION.get(name))
    masked: list[tuple[int, int]] = []
    positional = [strings for keyword, strings in call.arguments if keyword is None]
    if position is not None:
        for strings in positional[position:]:
            masked.extend(strings or [])
    if name in _LOOKUPS:
        given_to_secret = _given_to_secret_name(code, call.start)
        for index, strings in enumerate(positional):
            if strings and (given_to_secret or _is_secret_name("".join(code[a:b] for a, b in strings))):
                for value in positional[index + 1 :]:
                    masked.extend(value or [])
                for keyword, value in call.arguments:
                    if keyword in _DEFAULT_KEYWORDS:
                        masked.extend(value or [])
                break
    return masked


def _read_calls(code: str, start: int, pos: int, callee: str, spans: list[tuple[int, int]]) -> int:
    """Read the call opened at ``pos`` with the calls inside it (one pass), adding the secrets given to
    them to ``spans``; returns where it ends."""
    limit = min(len(code), pos + _SCAN_LIMIT)
    calls = [_Call(callee, start)]
    last_name: tuple[str, int] | None = None
    while pos < limit and calls:
        call = calls[-1]
        string = _STRING_START.match(code, pos, limit)
        if string:
            content_end, pos = _string_end(code, string.group(1), string.end(), limit)
            call.strings.append((string.end(), content_end))
            call.empty, last_name = False, None
            continue
        token = _TOKEN.match(code, pos, limit)
        if token is None:
            break
        kind, text = token.lastgroup, token.group(0)
        pos = token.end()
        if kind in ("space", "newline"):
            continue
        if kind == "name" and call.empty and call.keyword is None:
            after = _TOKEN.match(code, pos, limit)
            while after is not None and after.lastgroup == "space":
                after = _TOKEN.match(code, after.end(), limit)
            if after is not None and after.group(0) == "=":
                call.keyword, pos = text, after.end()
                continue
        if text in "([{":
            call.pure = call.empty = False
            nested = last_name[0] if text == "(" and last_name and last_name[1] == token.start() else None
            calls.append(_Call(nested, token.start() - len(nested or "")))
        elif text in ")]}":
            call.end_argument()
            spans.extend(_masked_arguments(code, calls.pop()))
        elif text == ",":
            call.end_argument()
        else:
            call.pure = call.empty = False
        last_name = (text, token.end()) if kind == "name" else None
    return pos


def _call_spans(code: str) -> list[tuple[int, int]]:
    """Secrets given positionally to calls that take them so, and defaults of lookups of secret names
    (``os.getenv("API_KEY", "...")``): each call is read once, with the calls inside it."""
    spans: list[tuple[int, int]] = []
    scanned = 0
    for match in _CALL.finditer(code):
        dotted = match.group("callee").lstrip(".")
        name = dotted.rsplit(".", 1)[-1]
        if match.start() < scanned or not (
            name in _LOOKUPS
            or name in _SECRET_POSITION
            or ".".join(dotted.rsplit(".", 2)[-2:]) in _SECRET_POSITION
        ):
            continue
        scanned = _read_calls(code, match.start(), match.end(), match.group("callee"), spans)
    return spans


def _heredoc_end(code: str, tag: str, start: int) -> int:
    """Where the line that ends a heredoc (its tag alone, maybe indented) starts; no such line: the end."""
    found = code.find(tag, start)
    while found != -1:
        line_start = found
        while line_start > start and code[line_start - 1] in " \t":
            line_start -= 1
        after = found + len(tag)
        at_line_start = line_start == start or code[line_start - 1] == "\n"
        if at_line_start and code[after : after + 1] in ("", "\n", " ", "\t"):
            line_end = code.find("\n", after)
            if not code[after : len(code) if line_end == -1 else line_end].strip(" \t"):
                return line_start
        found = code.find(tag, after)
    return len(code)


def _text_block_spans(code: str) -> list[tuple[int, int]]:
    """``name = value`` lines of config files written in heredocs and triple-quoted strings."""
    spans: list[tuple[int, int]] = []
    at = 0
    for match in _TEXT_BLOCK.finditer(code):
        if match.start() < at or not (match.group("tag") or match.group("triple")):
            continue  # inside a block read already; a comment or a one-line string
        start = match.end()
        if match.group("tag"):
            end = at = _heredoc_end(code, match.group("tag"), start)
        else:
            end, at = _string_end(code, match.group("triple"), start, len(code))
        for line in _CONFIG_LINE.finditer(code, start, end):
            if _is_secret_name(line.group("name")):
                value = line.group("value")
                comment = min((i for i in (value.find(" #"), value.find(" ;")) if i >= 0), default=len(value))
                spans.append((line.start("value"), line.start("value") + len(value[:comment].rstrip())))
        at = max(at, start)
    return spans


def _sql_and_login_spans(code: str) -> list[tuple[int, int]]:
    """Passwords in SQL written in strings, Oracle's ``user/password@db``, ``openssl -passin pass:X`` and
    ``aws configure set NAME VALUE``."""
    spans = [m.span("value" if m.group("bare") is None else "bare") for m in _SQL_IDENTIFIED.finditer(code)]
    spans.extend(m.span("value") for m in _SQL_PASSWORD.finditer(code))
    spans.extend(m.span("value") for m in _ORACLE_LOGIN.finditer(code))
    spans.extend(m.span("value") for m in _OPENSSL_PASS.finditer(code))
    spans.extend(m.span("value") for m in _CONFIG_SET.finditer(code) if _is_secret_name(m.group("name")))
    return spans


def redact_code(code: str) -> str:
    """``code`` with the credentials it spells out replaced by ``***`` (quotes kept, so it still reads)."""
    out = _mask_spans(code, _private_key_spans(code))
    out = redact_uri_credentials(out)
    out = _mask_spans(out, [m.span("value") for m in _AWS_KEY_PAIR.finditer(out)])
    out = _SHAPED.sub(MASK, out)
    spans = _quoted_spans(out) + _expression_spans(out) + _call_spans(out)
    out = _mask_spans(out, spans + _sql_and_login_spans(out) + _text_block_spans(out))
    out = _BARE_ASSIGNMENT.sub(_mask_bare, out)
    out = _SECRET_FLAG.sub(_mask_flag, out)
    out = _mask_spans(out, _p_flag_spans(out))
    out = _YAML_BARE.sub(_mask_yaml, out)
    out = _AUTH_HEADER.sub(lambda m: m.group("key") + MASK, out)
    out = _SECRET_HEADER.sub(lambda m: m.group("key") + MASK if _secret_name(m) else m.group(0), out)
    out = _CURL_USER.sub(lambda m: m.group("key") + MASK, out)
    return _AUTH_PAIR.sub(lambda m: m.group("key") + MASK, out)


def _python_source(function: Any) -> str | None:
    while isinstance(function, functools.partial):
        function = function.func
    try:
        function = inspect.unwrap(function)
        if not (inspect.isfunction(function) or inspect.ismethod(function) or inspect.isclass(function)):
            function = type(function)  # an instance with __call__: its class
        return textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError, ValueError):  # built-ins, C functions, code typed into a REPL
        return None


def source_code(operator: Any) -> tuple[str, str] | None:
    """``(language, code)`` that ``operator`` runs, or None."""
    command = getattr(operator, "bash_command", None)
    if isinstance(command, str):
        return "bash", command
    function = getattr(operator, "python_callable", None)
    if callable(function):
        code = _python_source(function)
        if code is not None:
            return "python", code
    return None


def source_code_facet(operator: Any) -> Any:
    """The ``sourceCode`` job facet for ``operator``, masked; None when it runs no code we can read."""
    found = source_code(operator)
    if found is None:
        return None
    from openlineage.client.facet_v2 import source_code_job

    from airflow_lineage_provider import PRODUCER

    language, code = found
    return source_code_job.SourceCodeJobFacet(
        language=language, sourceCode=redact_code(code), producer=str(PRODUCER)
    )
