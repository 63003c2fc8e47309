"""``redact_code``: credentials given positionally, as lookup defaults, in tuple assignments, built from
several literals, in ANSI-C quotes, heredocs, SQL and escaped JSON; names that only look like secrets; and
that masking stays linear and never raises."""

from __future__ import annotations

import random

import pytest
from timing import best_cpu_seconds, best_cpu_seconds_of_both

from airflow_lineage_provider.extractors.source_code import redact_code


def _cpu_seconds(code: str, runs: int = 3) -> float:
    return best_cpu_seconds(lambda: redact_code(code), runs)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # positional secrets
        ('pymysql.connect(host, user, "pw-Leak1")', 'pymysql.connect(host, user, "***")'),
        ('MySQLdb.connect("db", "etl", "pw-Leak1", "sales")', 'MySQLdb.connect("db", "etl", "***", "***")'),
        ('cx_Oracle.connect("etl", "pw-Leak1", "db/svc")', 'cx_Oracle.connect("etl", "***", "***")'),
        ('ftp = FTP("host", "etl", "pw-Leak1")', 'ftp = FTP("host", "etl", "***")'),
        ('smtp.login("etl", "pw-Leak1")', 'smtp.login("etl", "***")'),
        ('ssh.connect(\n    "host",\n    22,\n    "etl",\n    "pw-Leak1",\n)',
         'ssh.connect(\n    "host",\n    22,\n    "***",\n    "***",\n)'),
        ('boto3.client("s3", "us-east-1", "AKIAIOSFODNN7EXAMPLE",'
         ' "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLeak1")',
         'boto3.client("s3", "us-east-1", "***", "***")'),
        ('boto3.Session("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLeak1")',
         'boto3.Session("***", "***")'),
        ('requests.get(url, auth=HTTPBasicAuth("u", "pw-Leak1"))',
         'requests.get(url, auth=HTTPBasicAuth("u", "***"))'),
        ('psycopg2.connect("dbname=x password=pw-Leak1")', 'psycopg2.connect("dbname=x password=***")'),
        # defaults of lookups
        ('os.getenv("API_KEY", "default-Leak1")', 'os.getenv("API_KEY", "***")'),
        ("os.environ.get('TOKEN', 'tok-Leak1')", "os.environ.get('TOKEN', '***')"),
        ('os.environ.setdefault("DB_PASSWORD", "pw-Leak1")', 'os.environ.setdefault("DB_PASSWORD", "***")'),
        ('Variable.get("api_token", default_var="tok-Leak1")',
         'Variable.get("api_token", default_var="***")'),
        ('password = os.getenv("PG_PW", "pw-Leak1")', 'password = os.getenv("PG_PW", "***")'),
        ('kwargs.get("client_secret", "s-Leak1")', 'kwargs.get("client_secret", "***")'),
        # tuple and chained assignments
        ('user, password = "etl", "pw-Leak1"', 'user, password = "etl", "***"'),
        ('password, user = "pw-Leak1", "etl"', 'password, user = "***", "etl"'),
        ('(user, password) = ("etl", "pw-Leak1")', '(user, password) = ("etl", "***")'),
        ('password = default = "pw-Leak1"', 'password = default = "***"'),
        # a secret built from several literals
        ('token = "abc" + "Leak1"', 'token = "***" + "***"'),
        ('token = "abc" "Leak1"', 'token = "***" "***"'),
        ('token = PREFIX + "Leak1"', 'token = PREFIX + "***"'),
        ('password = ("abc"\n    "Leak1")', 'password = ("***"\n    "***")'),
        ('headers = {"Authorization": "Bearer " + "Leak1"}', 'headers = {"Authorization": "***" + "***"}'),
        ('headers["Authorization"] = "Bearer %s" % "Leak1"', 'headers["Authorization"] = "***" % "***"'),
        ('token = "Bearer {}".format("Leak1")', 'token = "***".format("***")'),
        ("headers = {\"Authorization\": f\"Bearer {'Leak1'}\"}", 'headers = {"Authorization": f"***"}'),
        # shell
        ("export PGPASSWORD=$'pw\\'Leak1'", "export PGPASSWORD=$'***'"),
        ("cat > app.ini <<EOF\n[db]\npassword = pw-Leak1\nEOF\n",
         "cat > app.ini <<EOF\n[db]\npassword = ***\nEOF\n"),
        ("cat <<'END'\nspring.datasource.password = pw-Leak1 ; x\nEND",
         "cat <<'END'\nspring.datasource.password = *** ; x\nEND"),
        ('config = """\n[db]\napi_key = k-Leak1\n"""', 'config = """\n[db]\napi_key = ***\n"""'),
        ("PGPASSWORD=pw-Leak1 psql -h db", "PGPASSWORD=*** psql -h db"),
        ('PGPASSWORD="pw-Leak1" psql -c "select 1"', 'PGPASSWORD="***" psql -c "select 1"'),
        ("mysql --password pw-Leak1 -e x", "mysql --password *** -e x"),
        ("curl -H 'X-Auth-Token: tok-Leak1' https://x", "curl -H 'X-Auth-Token: ***' https://x"),
        ("curl -H 'apikey: k-Leak1' https://x", "curl -H 'apikey: ***' https://x"),
        ("sqlplus -s etl/pw-Leak1@db @run.sql", "sqlplus -s etl/***@db @run.sql"),
        ('url = "jdbc:oracle:thin:etl/pw-Leak1@db:1521/svc"', 'url = "jdbc:oracle:thin:etl/***@db:1521/svc"'),
        # SQL in strings
        ("cur.execute(\"CREATE USER u IDENTIFIED BY 'pw-Leak1'\")",
         "cur.execute(\"CREATE USER u IDENTIFIED BY '***'\")"),
        ("cur.execute(\"ALTER ROLE etl WITH PASSWORD 'pw-Leak1'\")",
         "cur.execute(\"ALTER ROLE etl WITH PASSWORD '***'\")"),
        ("cur.execute('ALTER USER etl PASSWORD \"pw-Leak1\" VALID UNTIL x')",
         "cur.execute('ALTER USER etl PASSWORD \"***\" VALID UNTIL x')"),
        ('sql = "CREATE USER u IDENTIFIED BY pw-Leak1;"', 'sql = "CREATE USER u IDENTIFIED BY ***;"'),
        ("sql = 'CREATE USER u IDENTIFIED BY \\'pw-Leak1\\''",
         "sql = 'CREATE USER u IDENTIFIED BY \\'***\\''"),
        ("sql = \"SET PASSWORD FOR u = PASSWORD('pw-Leak1')\"",
         "sql = \"SET PASSWORD FOR u = PASSWORD('***')\""),
        # JSON in strings
        ("data = '{\"password\": \"pw-Leak1\"}'", "data = '{\"password\": \"***\"}'"),
        ('data = "{\\"password\\": \\"pw-Leak1\\", \\"user\\": \\"u\\"}"',
         'data = "{\\"password\\": \\"***\\", \\"user\\": \\"u\\"}"'),
        # URIs
        ('c = "mongodb+srv://u:pw-Leak1@cluster/db"', 'c = "mongodb+srv://u:***@cluster/db"'),
        ('c = "redis://:pw-Leak1@host:6379/0"', 'c = "redis://:***@host:6379/0"'),
        ('c = "jdbc:postgresql://db/x?user=u&password=pw-Leak1"', 'c = "jdbc:postgresql://db/x?user=u&password=***"'),
    ],
)  # fmt: skip
def test_masks_credentials_left_by_the_review(code: str, expected: str):
    assert redact_code(code) == expected
    assert "Leak1" not in redact_code(code)


@pytest.mark.parametrize(
    "code",
    [
        'auth_method = "oauth"',
        'author = "me"',
        'auth_type = "basic"',
        'auth = "basic"',
        'authority = "https://login.example.com"',
        'token_type = "bearer"',
        'password_policy = "strict"',
        'secret_name = "prod/db"',
        'token_url = "https://auth.example.com/token"',
        'password_file = "/run/secrets/db"',
        'token_count = "3"',
        'SECRET_ENV = "DB_PASSWORD"',
        'primary_key = "id"',
        'key = "order_id"',
        'rows = conn.get("items", "none")',
        'os.getenv("HOME", "/root")',
        'pymysql.connect("db", "etl", password=get_pw())',
        'ssh.connect("host")',
        'user, table = "etl", "orders"',
        'PASSWORD=$DB_PW psql -c "select 1"',
        'password = get_secret("db")',
        'password = Variable.get("db_pw")',
        "docker pull library/nginx@sha256:abc",
        'print("CREATE USER " + name)',
    ],
)
def test_names_that_only_look_like_secrets_are_left_alone(code: str):
    assert redact_code(code) == code


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('auth_token = "t1"', 'auth_token = "***"'),
        ('oauth_token = "t1"', 'oauth_token = "***"'),
        ('apikey = "t1"', 'apikey = "***"'),
        ('authKey = "t1"', 'authKey = "***"'),
        ('DB_PASSWORD2 = "t1"', 'DB_PASSWORD2 = "***"'),
        ('password_value = "t1"', 'password_value = "***"'),
        ('credentials = "t1"', 'credentials = "***"'),
        ('secret_key = "t1"', 'secret_key = "***"'),
        ('refreshToken = "t1"', 'refreshToken = "***"'),
    ],
)
def test_names_whose_words_say_secret_are_masked(code: str, expected: str):
    assert redact_code(code) == expected


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "pymysql.connect(" * n,
        lambda n: 'os.getenv("TOKEN", ' * n,
        lambda n: "token = (" * n,
        lambda n: 'token = """' * n,
        lambda n: "token = '" * n,
        lambda n: "a, password = " * n,
        lambda n: 'password = "a" + ' * n,
        lambda n: "cat <<EOF\n" * n,
        lambda n: 'x = """' + "password = x\n" * n,
        lambda n: "IDENTIFIED BY " * n,
        lambda n: "sqlplus a/" * n,
        lambda n: '\\"password\\": \\"' * n,
        lambda n: "connect(" + '"a", ' * n,
        lambda n: "password = x.get(" + "(" * n,
        lambda n: '\\"password\\": \\"' + "x" * 12 * n,
        lambda n: "SET PASSWORD " * n,
        lambda n: "".join(f"cat <<T{i}\nT{i}\n" for i in range(n)),
        lambda n: "cat <<EOF\n" + "EOF " * n,
        lambda n: "mysql -p'" * n,
        lambda n: "config " + "-a " * n,
        lambda n: 'setattr(o, "password", ' * n,
        lambda n: "password = " + "str(" * n,
    ],
)
def test_masking_stays_linear(make):
    small, large = make(5_000), make(20_000)  # about 50k-200k and 200k-800k characters
    fast, slow = best_cpu_seconds_of_both(lambda: redact_code(small), lambda: redact_code(large))
    ratio = slow / max(fast, 1e-3)
    assert ratio < 8, ratio  # linear: about 4 (4-6.4 seen under load); quadratic would be 16


def test_masking_never_raises():
    rng = random.Random(20261121)
    alphabet = [
        "password", "token", "=", ":", " ", "\n", "'", '"', '"""', "'''", "\\", "$'", "(", ")", "[", "]", "{",
        "}", ",", "+", "<<EOF\n", "EOF", "\x00", "\ud800", "\udfff", "é", "connect(", "getenv(", "://",
        "@", "/", "IDENTIFIED BY ", "PASSWORD ", "-p", "--token", "AKIAIOSFODNN7EXAMPLE", "#", "%", ".",
    ]  # fmt: skip
    for _ in range(3_000):
        code = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert isinstance(redact_code(code), str)
    for code in ["", "\x00" * 1000, "x" * 300_000, "password = '" + "a" * 300_000, "\ud800" * 1000]:
        assert isinstance(redact_code(code), str)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("headers = {'Authorization': 'Basic %s' % base64.b64encode(b'u:Lk-2')}",
         "headers = {'Authorization': '***' % base64.b64encode(b'***')}"),
        ("setattr(obj, 'password', 'Lk-2')", "setattr(obj, 'password', '***')"),
        ("Variable.set('api_key', 'Lk-2')", "Variable.set('api_key', '***')"),
        ("monkeypatch.setenv('DB_TOKEN', 'Lk-2')", "monkeypatch.setenv('DB_TOKEN', '***')"),
        ("url = URL.create('postgresql', 'u', 'Lk-2', 'h')",
         "url = URL.create('postgresql', 'u', '***', '***')"),
        ("mysql -u root -p'Lk-2' db", "mysql -u root -p'***' db"),
        ("mongosh -u admin -p Lk-2 db", "mongosh -u admin -p *** db"),
        ("redis-cli -h h -a Lk-2 ping", "redis-cli -h h -a *** ping"),
        ("openssl rsa -passin pass:Lk-2 -in k.pem", "openssl rsa -passin pass:*** -in k.pem"),
        ("aws configure set aws_secret_access_key Lk-2", "aws configure set aws_secret_access_key ***"),
        ("curl --oauth2-bearer Lk-2 https://x", "curl --oauth2-bearer *** https://x"),
        ('boto3.client("s3", "us-east-1", "AKIAIOSFODNN7EXAMPLE", "shortLk-2")',
         'boto3.client("s3", "us-east-1", "***", "***")'),
    ],
)  # fmt: skip
def test_masks_secrets_given_to_setters_encoders_and_cli_flags(code: str, expected: str):
    assert redact_code(code) == expected


@pytest.mark.parametrize(
    "code",
    [
        'setattr(obj, "name", "orders")',
        'Variable.set("table", "orders")',
        "aws configure set region eu-west-1",
        "redis-cli -n 0 get key",
        'label = "%s rows" % str(n)',
        'columns = ", ".join(["id", "name"])',
    ],
)
def test_setters_and_cli_flags_of_other_things_are_left_alone(code: str):
    assert redact_code(code) == code
