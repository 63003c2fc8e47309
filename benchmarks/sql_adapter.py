"""score.py adapter for this provider's SQL lineage engine: ``--adapter sql_adapter:lineage``.

The engine accepts the corpus's dialect vocabulary as is (``ansi``, ``sparksql``, ``tsql``, ...; unknown
names and ``None`` use the generic dialect).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def lineage(sql: str, dialect: str | None) -> dict:
    from airflow_lineage_provider.sql import analyze

    return analyze(sql, dialect).to_dict()
