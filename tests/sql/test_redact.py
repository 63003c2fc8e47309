"""Table-driven tests of SQL and URI redaction."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql.redact import redact_sql, redact_uri_credentials

SECRETS = [
    (
        "redshift_copy_credentials",
        "COPY t FROM 's3://b/k' CREDENTIALS 'aws_access_key_id=AKIA1;aws_secret_access_key=SECRET1'",
        ["AKIA1", "SECRET1"],
    ),
    (
        "snowflake_credentials_block",
        "COPY INTO t FROM 's3://b' CREDENTIALS=(AWS_KEY_ID='AKIA2' AWS_SECRET_KEY='SECRET2')",
        ["AKIA2", "SECRET2"],
    ),
    ("create_user_password", "CREATE USER bob WITH PASSWORD 'hunter2'", ["hunter2"]),
    ("alter_user_identified_by", "ALTER USER bob IDENTIFIED BY s3cr3t", ["s3cr3t"]),
    ("mysql_identified_with", "CREATE USER 'u'@'%' IDENTIFIED WITH mysql_native_password BY 'pw9'", ["pw9"]),
    (
        "connection_string",
        "SELECT * FROM OPENROWSET('SQLNCLI', 'Server=h;Uid=u;Pwd=pw7;', 'SELECT 1')",
        ["pw7"],
    ),
    ("uri_in_sql", "ATTACH 'postgresql://admin:topsecret@db:5432/x' AS pg", ["topsecret"]),
    (
        "azure_sas",
        "COPY INTO t FROM 'azure://a/b' CREDENTIALS=(AZURE_SAS_TOKEN='sv=2020&sig=abc')",
        ["sig=abc"],
    ),
]


@pytest.mark.parametrize(("sql", "secrets"), [c[1:] for c in SECRETS], ids=[c[0] for c in SECRETS])
def test_credentials_are_always_masked(sql: str, secrets: list[str]) -> None:
    for masked in (redact_sql(sql), redact_sql(sql, mask_literals=True)):
        assert "***" in masked or "?" in masked
        for secret in secrets:
            assert secret not in masked


def test_plain_sql_is_unchanged() -> None:
    sql = "SELECT a, 'x' FROM t WHERE b = 3 -- note"
    assert redact_sql(sql) == sql


def test_mask_literals() -> None:
    sql = "SELECT 'a', 12, col1 FROM \"t1\" WHERE x = 3.5 AND c = 'it''s' -- 'comment' 7"
    assert redact_sql(sql, mask_literals=True) == (
        "SELECT ?, ?, col1 FROM \"t1\" WHERE x = ? AND c = ? -- 'comment' 7"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        (
            "see https://user:tok@example.com/x and s3://k:s@b/p",
            "see https://user:***@example.com/x and s3://k:***@b/p",
        ),
        ("http://example.com/no/creds", "http://example.com/no/creds"),
        ("mysql://user@h/db", "mysql://user@h/db"),
    ],
)
def test_redact_uri_credentials(text: str, expected: str) -> None:
    assert redact_uri_credentials(text) == expected


@pytest.mark.parametrize(
    ("sql", "secret"),
    [
        ("SELECT 'password=pw5501', 'lit7702', x FROM customer", "pw5501"),  # a bare value inside a literal
        ("CREATE USER u IDENTIFIED BY 'S3cret\\'Pw4403'", "Pw4403"),  # MySQL backslash-escaped quote
    ],
)
def test_a_secret_next_to_a_quote_does_not_unbalance_the_text(sql: str, secret: str) -> None:
    """A bare secret value ends at a quote (it may close the literal it sits in), and a quoted one reads
    backslash escapes: otherwise part of the secret, or the next literal under mask_literals, leaks."""
    for masked in (redact_sql(sql), redact_sql(sql, mask_literals=True)):
        assert secret not in masked, masked
    assert "lit7702" not in redact_sql(sql, mask_literals=True)


def test_parse_errors_do_not_quote_the_sql() -> None:
    """The tokenizer quotes the SQL where it stopped, cut mid-literal: no redaction can read that piece."""
    from airflow_lineage_provider.sql import analyze

    result = analyze("SELECT 'password=pw9901, [x FROM customer", "postgres")
    assert result.errors and not any("pw9901" in e for e in result.errors), result.errors


@pytest.mark.parametrize("body", ["$$" * 40, "$$ a " * 40, "'' " * 2000])
def test_an_unclosed_credentials_block_stays_linear(body: str) -> None:
    """'$$' and "''" can each be read two ways inside CREDENTIALS=( ... ): without an atomic match, an
    unclosed block took exponential time (40 '$$' pairs: hours)."""
    import time

    started = time.perf_counter()
    redact_sql("COPY x FROM y CREDENTIALS=(" + body)
    assert time.perf_counter() - started < 5.0


# ---------------------------------------------------------------- positional credentials and settings
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "CREATE SECRET s3c (TYPE S3, KEY_ID 'AKIAEXAMPLE1', SECRET 'wJalr/K7MDENG', REGION 'us-east-1')",
            "CREATE SECRET *** (TYPE S3, KEY_ID '***', SECRET '***', REGION 'us-east-1')",
            id="duckdb-create-secret",
        ),
        pytest.param("SET s3_secret_access_key='sk-1'", "SET s3_secret_access_key='***'", id="duckdb-set"),
        pytest.param("SET GLOBAL api_token TO 'tok-2'", "SET GLOBAL api_token TO '***'", id="setting-to"),
        pytest.param(
            "SELECT * FROM s3('https://b.s3.amazonaws.com/x.parquet', 'AKIA3', 'sk-3', 'Parquet')",
            "SELECT * FROM s3('https://b.s3.amazonaws.com/x.parquet', '***', '***', 'Parquet')",
            id="clickhouse-s3",
        ),
        pytest.param(
            "SELECT * FROM s3Cluster('c1', 'https://b/x.csv', 'AKIA4', 'sk-4', 'CSV')",
            "SELECT * FROM s3Cluster('c1', 'https://b/x.csv', '***', '***', 'CSV')",
            id="clickhouse-s3cluster",
        ),
        pytest.param(
            "CREATE TABLE t (a Int8) ENGINE = S3('https://b/x', 'AKIA5', 'sk-5', 'CSV')",
            "CREATE TABLE t (a Int8) ENGINE = S3('https://b/x', '***', '***', 'CSV')",
            id="clickhouse-s3-engine",
        ),
        pytest.param(
            "INSERT INTO t SELECT * FROM postgresql('h:5432', 'db', 't', 'etl', 'pw-6')",
            "INSERT INTO t SELECT * FROM postgresql('h:5432', 'db', 't', 'etl', '***')",
            id="clickhouse-postgresql",
        ),
        pytest.param(
            "SELECT * FROM mysql('h:3306', 'db', 't', 'etl', 'pw-7', 0, 'UPDATE a = a')",
            "SELECT * FROM mysql('h:3306', 'db', 't', 'etl', '***', 0, 'UPDATE a = a')",
            id="clickhouse-mysql",
        ),
        pytest.param(
            "SELECT * FROM remote('h', db.t, 'etl', 'pw-8')",
            "SELECT * FROM remote('h', db.t, 'etl', '***')",
            id="clickhouse-remote-db-table",
        ),
        pytest.param(
            "SELECT * FROM remoteSecure('h', 'db', 't', 'etl', 'pw-9')",
            "SELECT * FROM remoteSecure('h', 'db', 't', 'etl', '***')",
            id="clickhouse-remote-secure",
        ),
        pytest.param(
            "SELECT * FROM azureBlobStorage('https://a.blob.core', 'c', 'p/*.csv', 'a', 'k-10', 'CSV')",
            "SELECT * FROM azureBlobStorage('https://a.blob.core', 'c', 'p/*.csv', 'a', '***', 'CSV')",
            id="clickhouse-azure",
        ),
    ],
)
def test_positional_credentials_and_secret_settings_are_masked(sql: str, expected: str) -> None:
    assert redact_sql(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM s3('https://b/x.csv', 'CSVWithNames', 'id UInt64, name String', 'gzip')",
        "SELECT * FROM s3('https://b/x.parquet')",
        "SET s3_region = 'us-east-1'",
        "SELECT s3, mysql FROM t WHERE remote = 'x'",
        "SELECT my_s3('a', 'b', 'c') FROM t",
    ],
)
def test_what_is_not_a_credential_stays(sql: str) -> None:
    assert redact_sql(sql) == sql


def test_many_unclosed_credential_calls_stay_linear() -> None:
    from timing import best_cpu_seconds

    def cost(n: int) -> float:
        text = "SELECT " + "s3('u', 'k', " * n
        return best_cpu_seconds(lambda: redact_sql(text))

    assert cost(8_000) / max(cost(2_000), 1e-3) < 10


def test_a_literal_left_open_is_masked_to_the_end() -> None:
    """A statement cut or broken inside a literal (the task then fails on it): what follows the quote is
    data all the same."""
    assert redact_sql("SELECT 'a' FROM t WHERE c = 'Lit-E5", mask_literals=True) == (
        "SELECT ? FROM t WHERE c = ?"
    )
    assert redact_sql("SELECT $$body FROM t", mask_literals=True) == "SELECT ?"
