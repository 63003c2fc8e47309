"""Manual lineage: a task's ``inlets`` / ``outlets`` as OpenLineage input / output datasets.

Accepted entries: Airflow ``Asset`` objects (their URI is named per the OpenLineage naming spec by
``naming.dataset_from_uri``) and openlineage-python ``Dataset`` objects (event_v2 ``Dataset`` /
``InputDataset`` / ``OutputDataset``, or the legacy ``openlineage.client.run.Dataset``), taken as they are
except for credentials in their namespace (``postgres://user:secret@host:5432`` becomes
``postgres://host:5432``, the name SQL lineage gives the same table). ``Asset.ref(uri=...)`` is the dataset
of its URI; ``Asset.ref(name=...)`` the dataset of the registered asset of that name (looked up in a task
process). An ``AssetAlias`` outlet is no dataset itself, but the assets the task adds to it at run time
(``outlet_events[alias].add(Asset(...))``) are outputs from then on. Assets without a URI scheme are not
datasets and are left out with a debug line. Anything else (a plain string, a task, a dict)
is a mistake: it is left out with a warning naming it and an ``extractionError`` run facet.
openlineage-python is imported only when a task declares inlets or outlets (it costs a fresh task process
up to a second).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from airflow_lineage_provider._openlineage import ensure_imported
from airflow_lineage_provider.extractors.base import OperatorLineage, warn_once

if TYPE_CHECKING:
    from openlineage.client.event_v2 import InputDataset, OutputDataset

log = logging.getLogger(__name__)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return _rejoined(list(value))
    return [value]


def _rejoined(entries: list[Any]) -> list[Any]:
    """Entries with runs of one-character strings joined back: Airflow makes ``outlets="s3://b/k"`` a list
    of its characters, and one mistake must be reported once (not spelled out, secrets included)."""
    joined: list[Any] = []
    chars: list[str] = []
    end = object()
    for entry in [*entries, end]:
        if isinstance(entry, str) and len(entry) == 1:
            chars.append(entry)
            continue
        if chars:
            joined.append("".join(chars))
            chars = []
        if entry is not end:
            joined.append(entry)
    return joined


def _without_credentials(namespace: str) -> str:
    """``scheme://user:secret@host:port`` -> ``scheme://host:port`` (Azure keeps its container, the user)."""
    from airflow_lineage_provider.naming import without_userinfo

    return without_userinfo(namespace)


def _is_airflow_asset_kind(entry: Any) -> bool:
    """An Airflow asset-family object (Asset, AssetAlias, an asset reference): never a mistake to declare."""
    try:
        from airflow.sdk.definitions.asset import BaseAsset
    except ImportError:  # pragma: no cover - Airflow 3 always has it
        return False
    return isinstance(entry, BaseAsset)


def _redact(text: str) -> str:
    from airflow_lineage_provider.sql.redact import redact_uri_credentials

    return redact_uri_credentials(text)


def _describe(entry: Any) -> str:
    """A short, secret-free description of an entry for a log line or an error message."""
    return f"{_redact(repr(entry))[:200]} (a {type(entry).__name__})"


def _hint(entry: Any) -> str:
    if isinstance(entry, str) and entry.strip().lower() == "auto":
        return "Airflow 3 has no automatic lineage (AUTO): declare the upstream task's Asset instead"
    if isinstance(entry, str):
        return f"wrap it in an Asset: Asset({_redact(entry)!r})"
    if hasattr(entry, "task_id"):
        return "Airflow 3 does not resolve tasks in inlets/outlets: declare the upstream task's Asset instead"
    return "give an Airflow Asset or an openlineage-python Dataset"


def _namespace_name(
    entry: Any, problems: list[str] | None, side: str
) -> tuple[str, str, dict[str, Any]] | None:
    """(namespace, name, dataset facets) of one inlet/outlet entry, None when it is not a dataset."""
    namespace, name = getattr(entry, "namespace", None), getattr(entry, "name", None)
    if isinstance(namespace, str) and isinstance(name, str) and not hasattr(entry, "uri"):
        return _without_credentials(namespace), name, dict(getattr(entry, "facets", None) or {})
    uri = getattr(entry, "uri", None)
    if isinstance(uri, str) and uri:  # an Asset (or a serialized one / a URI reference)
        from airflow_lineage_provider.naming import dataset_from_uri

        try:
            dataset = dataset_from_uri(uri)
        except ValueError:  # a name-only Asset: nothing the naming spec can place
            log.debug(
                "asset %s has no URI the naming spec can place; not reported as a dataset", _describe(entry)
            )
            return None
        return dataset.namespace, dataset.name, {}
    if _is_name_ref(entry):
        registered = _registered_uri(entry.name)
        if registered is not None:
            return _namespace_name(_UriOnly(registered), problems, side)
    if _is_airflow_asset_kind(entry):  # an alias, a name reference: not a dataset, not a mistake either
        log.debug("%s %s is not a dataset; not reported", side, _describe(entry))
        return None
    problem = f"{side} entry {_describe(entry)} is not an Asset or an OpenLineage Dataset; {_hint(entry)}"
    if problems is None:
        log.warning("lineage: %s", problem)
    else:
        problems.append(problem)
    return None


@attrs.frozen
class _UriOnly:
    """An asset known by its URI only (a resolved name reference, an asset added to an alias)."""

    uri: str


def _is_name_ref(entry: Any) -> bool:
    try:
        from airflow.sdk.definitions.asset import AssetNameRef
    except ImportError:  # pragma: no cover - Airflow 3 always has it
        return False
    return isinstance(entry, AssetNameRef)


def _registered_uri(name: str) -> str | None:
    """The URI of the registered asset named ``name``; None outside a task process or when there is none."""
    try:
        from airflow.sdk.execution_time.comms import AssetResult, GetAssetByName
        from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

        found = SUPERVISOR_COMMS.send(GetAssetByName(name=name))
    except Exception as exc:  # not in a task process, or the API is unreachable
        log.debug("cannot look up the asset named %r: %s", name, exc)
        return None
    return found.uri if isinstance(found, AssetResult) and found.uri else None


def _alias_assets(outlets: list[Any], context: Any) -> list[Any]:
    """Assets the task added at run time to the ``AssetAlias`` entries of its outlets (none before).

    The provider's own alias (``emit_asset_events``) is skipped: its assets are the SQL outputs already.
    """
    from airflow_lineage_provider.extractors.assets import ALIAS_NAME, _outlet_events

    try:
        from airflow.sdk import AssetAlias
    except ImportError:  # pragma: no cover - Airflow 3 always has it
        return []
    aliases = {o.name for o in outlets if isinstance(o, AssetAlias) and o.name != ALIAS_NAME}
    if not aliases or context is None:
        return []
    events = _outlet_events(context)
    found: list[Any] = []
    for key in list(events or ()):  # the keys only: looking up a missing one would create it
        if isinstance(key, AssetAlias) and key.name in aliases:
            for event in getattr(events[key], "asset_alias_events", None) or ():
                uri = getattr(event.dest_asset_key, "uri", None)
                if isinstance(uri, str) and uri:
                    found.append(_UriOnly(uri))
    return found


def _file_path(namespace: Any, name: Any) -> Any:
    """A local file's name as the naming spec has it: absolute (``ObjectStoragePath.key`` drops the '/')."""
    if namespace == "file" and isinstance(name, str) and name and not name.startswith("/"):
        return "/" + name
    return name


def _datasets(entries: Iterable[Any], kind: Any, problems: list[str] | None, side: str) -> list[Any]:
    found: list[Any] = []
    for entry in entries:
        if isinstance(entry, kind):
            safe = (
                _without_credentials(entry.namespace) if isinstance(entry.namespace, str) else entry.namespace
            )
            name = _file_path(safe, entry.name)
            same = safe == entry.namespace and name == entry.name
            found.append(entry if same else attrs.evolve(entry, namespace=safe, name=name))
        elif (parts := _namespace_name(entry, problems, side)) is not None:
            found.append(kind(namespace=parts[0], name=_file_path(parts[0], parts[1]), facets=parts[2]))
    return found


def inputs_from(entries: Iterable[Any], problems: list[str] | None = None) -> list[InputDataset]:
    """Input datasets for the given inlets (entries that are no dataset by mistake: into ``problems``, or
    a warning line when it is None)."""
    entries = list(entries)
    if not entries:
        return []
    ensure_imported()
    from openlineage.client.event_v2 import InputDataset

    return _datasets(entries, InputDataset, problems, "inlets" if problems is not None else "inputs")


def outputs_from(entries: Iterable[Any], problems: list[str] | None = None) -> list[OutputDataset]:
    """Output datasets for the given outlets (see :func:`inputs_from`)."""
    entries = list(entries)
    if not entries:
        return []
    ensure_imported()
    from openlineage.client.event_v2 import OutputDataset

    return _datasets(entries, OutputDataset, problems, "outlets" if problems is not None else "outputs")


def manual_lineage(operator: Any, context: Any = None) -> OperatorLineage:
    """The task's declared inlets and outlets as an OperatorLineage (empty when it declares none).

    With the task's ``context``, assets added to its ``AssetAlias`` outlets so far are outputs too.
    Entries that cannot be datasets by mistake cost one warning line and an ``extractionError`` run facet.
    """
    problems: list[str] = []
    outlets = _as_list(getattr(operator, "outlets", None))
    try:
        added = _alias_assets(outlets, context)
    except Exception as exc:  # an unexpected context: the declared lineage still counts
        log.debug(
            "lineage: cannot read the asset alias events of %s: %s", getattr(operator, "task_id", "?"), exc
        )
        added = []
    lineage = OperatorLineage(
        inputs=inputs_from(_as_list(getattr(operator, "inlets", None)), problems),
        outputs=outputs_from([*outlets, *added], problems),
    )
    if problems:
        task_id = getattr(operator, "task_id", "?")
        warn_once(log, operator, "lineage: inlets/outlets of %s: %s", task_id, "; ".join(problems))
        lineage.run_facets["extractionError"] = _error_facet(task_id, problems)
    return lineage


def _error_facet(task_id: str, problems: list[str]) -> Any:
    from openlineage.client.facet_v2 import extraction_error_run

    from airflow_lineage_provider import PRODUCER

    return extraction_error_run.ExtractionErrorRunFacet(
        totalTasks=1,
        failedTasks=1,
        errors=[
            extraction_error_run.Error(errorMessage=f"manual: {problem}"[:2000], task=task_id)
            for problem in problems
        ],
        producer=PRODUCER,
    )
