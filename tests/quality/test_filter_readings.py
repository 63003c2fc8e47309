"""The row filter check under the ways engines mix quoting rules inside one statement (pure, table-driven)."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.quality import validate_row_filter


@pytest.mark.parametrize(
    "text",
    [
        "note = 'a;b' AND title = \"c;d\"",  # a ';' inside a string or a quoted name is harmless
        "`we``ird` = 'x -- not a comment' OR msg = '/* nor this */ #'",
        "path LIKE 'C:\\_tmp%'",  # a backslash before anything but a quote reads the same everywhere
        "line = E'a\\nb; c'",
        "tags = '$' AND price = '$5; or more'",  # '$' inside a string is not dollar quoting
        "created_at >= '2024-01-01' AND (a IS NULL OR b IN (1, 2))",
    ],
)
def test_harmless_filters_are_accepted(text: str) -> None:
    assert validate_row_filter(text) == text


@pytest.mark.parametrize(
    "text",
    [
        # PostgreSQL: backslash escapes in E'...' only; ';' outside every literal for the server
        r"x = E'\'' OR y = '\'); DROP TABLE t; COMMIT; --'",
        # MySQL/MariaDB: backslash escapes in '...' and "..." but not in `...`
        r"a = `\` = '\' ' ) UNION ALL SELECT 41, 42 # `'\''",
        # Snowflake: backslash escapes in '...' but not in "..."
        r"""a = "\" = '\' ' ) UNION ALL SELECT 41, 42 -- "'\''""",
        # any backslash right before a quote, even a harmless-looking one
        r"name = 'O\'Brien'",
        r"path = 'C:\\'",
    ],
)
def test_a_backslash_before_a_quote_is_refused(text: str) -> None:
    with pytest.raises(QualityGateError, match=r"is refused: it contains .*(backslash before a quote|quote)"):
        validate_row_filter(text)


def test_the_engine_mixes_were_clean_under_every_whole_text_reading() -> None:
    """Why the backslash rule is needed: each smuggling filter above passes the four whole-text readings."""
    from airflow_lineage_provider.quality.filters import _READINGS, _problem

    for text in (
        r"x = E'\'' OR y = '\'); DROP TABLE t; COMMIT; --'",
        r"a = `\` = '\' ' ) UNION ALL SELECT 41, 42 # `'\''",
        r"""a = "\" = '\' ' ) UNION ALL SELECT 41, 42 -- "'\''""",
    ):
        assert [_problem(text, reading) for reading in _READINGS] == [None] * len(_READINGS)
