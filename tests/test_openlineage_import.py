"""Concurrent first imports of openlineage-python must not fail (its modules import in cycles)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CODE = textwrap.dedent(
    """
    import threading
    from airflow_lineage_provider._openlineage import ensure_imported

    errors = []
    start = threading.Barrier(6)

    def first_use(kind):
        start.wait()
        try:
            ensure_imported()
            if kind == "transport":
                from openlineage.client.transport import get_default_factory
                get_default_factory()
            elif kind == "facets":
                from openlineage.client.facet_v2 import schema_dataset
                schema_dataset.SchemaDatasetFacet(fields=[])
            else:
                from openlineage.client.serde import Serde
                from openlineage.client.event_v2 import InputDataset
                Serde.to_dict(InputDataset(namespace="n", name="t"))
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=first_use, args=(k,)) for k in ["transport", "facets", "serde"] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print(errors)
    """
)


def test_concurrent_first_import_in_a_fresh_process() -> None:
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, check=True
        )
        assert out.stdout.strip() == "[]", out.stdout + out.stderr
