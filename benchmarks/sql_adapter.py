"""score.py adapter for this provider's SQL lineage engine: ``--adapter sql_adapter:lineage``."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: corpus dialect vocabulary -> engine dialect names (unknown ones fall back to the generic dialect)
_DIALECTS = {"sparksql": "spark", "ansi": None}


def lineage(sql: str, dialect: str | None) -> dict:
    from airflow_lineage_provider.sql import analyze

    return analyze(sql, _DIALECTS.get(dialect, dialect) if dialect else None).to_dict()
