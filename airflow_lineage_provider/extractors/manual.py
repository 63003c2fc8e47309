"""Manual lineage: a task's ``inlets`` / ``outlets`` as OpenLineage input / output datasets.

Accepted entries: Airflow ``Asset`` objects (their URI is named per the OpenLineage naming spec by
``naming.dataset_from_uri``) and openlineage-python ``Dataset`` objects (event_v2 ``Dataset`` /
``InputDataset`` / ``OutputDataset``, or the legacy ``openlineage.client.run.Dataset``), taken as they are.
Anything else (asset aliases, assets without a URI scheme, plain strings) is ignored with a debug line.
openlineage-python is imported only when a task declares inlets or outlets (it costs a fresh task process
up to a second).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_lineage_provider._openlineage import ensure_imported
from airflow_lineage_provider.extractors.base import OperatorLineage

if TYPE_CHECKING:
    from openlineage.client.event_v2 import InputDataset, OutputDataset

log = logging.getLogger(__name__)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _namespace_name(entry: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(namespace, name, dataset facets) of one inlet/outlet entry, None when it is not a dataset."""
    namespace, name = getattr(entry, "namespace", None), getattr(entry, "name", None)
    if isinstance(namespace, str) and isinstance(name, str) and not hasattr(entry, "uri"):
        return namespace, name, dict(getattr(entry, "facets", None) or {})
    uri = getattr(entry, "uri", None)
    if isinstance(uri, str) and uri:  # an Asset (or a serialized one / a URI reference)
        from airflow_lineage_provider.naming import dataset_from_uri

        try:
            dataset = dataset_from_uri(uri)
        except ValueError:  # a name-only Asset: nothing the naming spec can place
            log.debug("asset %r has no URI scheme; not reported as a dataset", uri)
            return None
        return dataset.namespace, dataset.name, {}
    log.debug("inlet/outlet %r is not an Asset or an OpenLineage Dataset; ignored", entry)
    return None


def _datasets(entries: Iterable[Any], kind: Any) -> list[Any]:
    found: list[Any] = []
    for entry in entries:
        if isinstance(entry, kind):
            found.append(entry)
        elif (parts := _namespace_name(entry)) is not None:
            found.append(kind(namespace=parts[0], name=parts[1], facets=parts[2]))
    return found


def inputs_from(entries: Iterable[Any]) -> list[InputDataset]:
    """Input datasets for the given inlets."""
    entries = list(entries)
    if not entries:
        return []
    ensure_imported()
    from openlineage.client.event_v2 import InputDataset

    return _datasets(entries, InputDataset)


def outputs_from(entries: Iterable[Any]) -> list[OutputDataset]:
    """Output datasets for the given outlets."""
    entries = list(entries)
    if not entries:
        return []
    ensure_imported()
    from openlineage.client.event_v2 import OutputDataset

    return _datasets(entries, OutputDataset)


def manual_lineage(operator: Any) -> OperatorLineage:
    """The task's declared inlets and outlets as an OperatorLineage (empty when it declares none)."""
    return OperatorLineage(
        inputs=inputs_from(_as_list(getattr(operator, "inlets", None))),
        outputs=outputs_from(_as_list(getattr(operator, "outlets", None))),
    )
