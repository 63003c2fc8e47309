"""Which extractor speaks for which operator, and the merge with manual lineage.

Per task event the first source that applies wins:

1. a custom extractor from ``[lineage_provider] extractors`` that handles the operator,
2. a built-in extractor from :data:`BUILTIN_EXTRACTORS` that handles it,
3. the operator's own ``get_openlineage_facets_on_start/complete/failure`` methods,
4. nothing.

On complete/failure, when that produced no dataset, lineage of SQL the task ran through hooks
(``extractors.hook_lineage.collect``) is used. Then the task's ``inlets``/``outlets``
(``extractors.manual``) are merged in, de-duplicated by (namespace, name), the ``sourceCode`` job facet is
added when ``[lineage_provider] include_source_code`` is on (``extractors.source_code``), and last the run
facets of the ``[lineage_provider] custom_run_facets`` functions are added. An extractor or function that
raises costs one warning line and an ``extractionError`` run facet, never the task.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from airflow_lineage_provider._openlineage import ensure_imported
from airflow_lineage_provider.exceptions import ExtractionError
from airflow_lineage_provider.extractors.base import BaseExtractor, OperatorLineage, warn_once

log = logging.getLogger(__name__)

#: built-in extractors, by dotted path (imported on first use; a missing one is skipped)
BUILTIN_EXTRACTORS: tuple[str, ...] = ("airflow_lineage_provider.extractors.sql.SqlExtractor",)


def _may_run_sql(operator: Any) -> bool:
    """Cheap necessary condition of ``SqlExtractor.can_extract``: SQL operators all have ``get_db_hook``."""
    return hasattr(operator, "get_db_hook")


#: a cheap test per built-in extractor that must hold before its module is imported at all (importing
#: one pulls openlineage-python and the SQL engine, up to a second for a fresh task process)
BUILTIN_PREFILTERS: dict[str, Any] = {"airflow_lineage_provider.extractors.sql.SqlExtractor": _may_run_sql}

PHASES = ("start", "complete", "failure")
#: the task state a ``custom_run_facets`` function is told, per phase
_PHASE_STATES = {"start": "running", "running": "running", "complete": "success", "failure": "failed"}
#: run facets the event builders set themselves: a custom function cannot replace them
RESERVED_RUN_FACETS = frozenset(
    {"parent", "nominalTime", "processing_engine", "airflow", "errorMessage", "extractionError"}
)
#: ``_schemaURL`` given to a custom run facet returned as a plain dict without one
CUSTOM_FACET_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"


def _import(path: str) -> Any:
    from importlib import import_module

    ensure_imported()  # extractors build openlineage-python objects
    module_name, _, attr = path.rpartition(".")
    return getattr(import_module(module_name), attr)


def _safe(exc: BaseException) -> str:
    """One log-safe line for an exception (credentials in URIs masked)."""
    from airflow_lineage_provider.sql.redact import redact_uri_credentials

    return redact_uri_credentials(f"{type(exc).__name__}: {exc}".replace("\n", " "))


def _class_path(obj: Any) -> str:
    klass = type(obj)
    return f"{klass.__module__}.{klass.__qualname__}"


class ExtractorManager:
    """Chooses and runs extractors; one per process (see :func:`get_manager`)."""

    def __init__(
        self,
        custom: Iterable[str] = (),
        builtin: Iterable[str] = BUILTIN_EXTRACTORS,
        run_facet_functions: Iterable[str] = (),
        facet_timeout: float = 1.0,
        include_source_code: bool = False,
    ) -> None:
        self._custom_paths = tuple(custom)
        self._builtin_paths = tuple(builtin)
        self._classes: list[type[BaseExtractor]] | None = None
        self._builtin: dict[str, type[BaseExtractor] | None] = {}
        self._facet_paths = tuple(run_facet_functions)
        self._facet_functions: list[tuple[str, Any]] | None = None
        self.facet_timeout = facet_timeout
        self.include_source_code = include_source_code

    def _run_facet_functions(self) -> list[tuple[str, Any]]:
        """The ``custom_run_facets`` functions, imported once; one that cannot be imported is skipped."""
        if self._facet_functions is None:
            functions: list[tuple[str, Any]] = []
            for path in self._facet_paths:
                try:
                    function = _import(path)
                except Exception as exc:
                    log.warning(
                        "[lineage_provider] custom_run_facets: cannot import %r (%s); fix or drop the path",
                        path,
                        _safe(exc),
                    )
                    continue
                if not callable(function):
                    log.warning(
                        "[lineage_provider] custom_run_facets: %r is a %s, not a function; fix the path",
                        path,
                        type(function).__name__,
                    )
                    continue
                functions.append((path, function))
            self._facet_functions = functions
        return self._facet_functions

    def _custom_classes(self) -> list[type[BaseExtractor]]:
        """Custom extractors, loaded once."""
        if self._classes is None:
            classes: list[type[BaseExtractor]] = []
            for path in self._custom_paths:
                try:
                    klass = _import(path)
                except Exception as exc:
                    log.warning(
                        "[lineage_provider] extractors: cannot import %r (%s); fix the path or drop it",
                        path,
                        exc,
                    )
                    continue
                if not (isinstance(klass, type) and issubclass(klass, BaseExtractor)):
                    log.warning(
                        "[lineage_provider] extractors: %r is a %s, not a subclass of "
                        "airflow_lineage_provider.extractors.base.BaseExtractor; fix the path or drop it",
                        path,
                        "class" if isinstance(klass, type) else type(klass).__name__,
                    )
                    continue
                classes.append(klass)
            self._classes = classes
        return self._classes

    def _builtin_class(self, path: str) -> type[BaseExtractor] | None:
        """A built-in extractor, imported on first use (None when unavailable)."""
        if path not in self._builtin:
            try:
                self._builtin[path] = _import(path)
            except Exception as exc:
                log.debug("built-in extractor %s unavailable: %s", path, exc)
                self._builtin[path] = None
        return self._builtin[path]

    def extractor_classes(self) -> list[type[BaseExtractor]]:
        """Custom extractors first, then built-in ones (importing every built-in one)."""
        builtin = (self._builtin_class(path) for path in self._builtin_paths)
        return [*self._custom_classes(), *(klass for klass in builtin if klass is not None)]

    def _candidates(self, operator: Any) -> Iterable[type[BaseExtractor]]:
        """Extractor classes that may handle ``operator``, in order; built-ins only past their prefilter."""
        yield from self._custom_classes()
        for path in self._builtin_paths:
            prefilter = BUILTIN_PREFILTERS.get(path)
            if prefilter is not None and not prefilter(operator):
                continue
            klass = self._builtin_class(path)
            if klass is not None:
                yield klass

    def extractor_for(self, operator: Any) -> BaseExtractor | None:
        for klass in self._candidates(operator):
            try:
                if klass.can_extract(operator):
                    return klass(operator)
            except Exception as exc:
                warn_once(  # once per task, not once per event
                    log,
                    operator,
                    "lineage extractor %s could not be set up for %s: %s",
                    klass.__name__,
                    _class_path(operator),
                    _safe(exc),
                )
        return None

    def extract(
        self,
        phase: str,
        operator: Any,
        context: Any = None,
        task_instance: Any = None,
        error: BaseException | str | None = None,
    ) -> OperatorLineage:
        """Lineage for one task event; never raises.

        ``phase``: start, complete, failure, or running (a progress report mid-try: the operator's lineage
        as on completion, without the queries collected from hooks, which belong to the final event).
        """
        errors: list[tuple[str, BaseException]] = []
        lineage = self._extracted(phase, operator, context, task_instance, error, errors)
        if phase not in ("start", "running") and not (lineage.inputs or lineage.outputs):
            try:
                from airflow_lineage_provider.extractors.hook_lineage import collect

                collected = collect(context, task_instance)
                if collected is not None:
                    lineage = merge(lineage, _normalise(collected))
            except Exception as exc:
                errors.append(("hook_lineage", exc))
        try:
            from airflow_lineage_provider.extractors.manual import manual_lineage

            lineage = merge(lineage, manual_lineage(operator, context))
        except Exception as exc:
            errors.append(("manual", exc))
        if self.include_source_code and "sourceCode" not in lineage.job_facets:
            try:
                from airflow_lineage_provider.extractors.source_code import source_code_facet

                facet = source_code_facet(operator)
                if facet is not None:
                    lineage.job_facets["sourceCode"] = facet
            except Exception as exc:
                errors.append(("source code", exc))
        if self._facet_paths:
            self._add_custom_run_facets(lineage, phase, task_instance, errors)
        _drop_invalid_facets(lineage, errors)
        if errors:
            for source, problem in errors:
                if isinstance(problem, _Advised):
                    continue
                log.warning(
                    "lineage extraction (%s) failed for %s on %s: %s",
                    source,
                    getattr(operator, "task_id", "?"),
                    phase,
                    _safe(problem),
                )
            lineage.run_facets["extractionError"] = _join_errors(
                lineage.run_facets.get("extractionError"), _error_facet(operator, errors)
            )
        return lineage

    def _add_custom_run_facets(
        self,
        lineage: OperatorLineage,
        phase: str,
        task_instance: Any,
        errors: list[tuple[str, BaseException]],
    ) -> None:
        """Run facets of each ``custom_run_facets`` function, each call bounded by ``facet_timeout``."""
        from airflow_lineage_provider.extractors.budget import call_with_timeout

        state = _task_state(_PHASE_STATES.get(phase, phase))
        for path, function in self._run_facet_functions():
            source = f"custom_run_facets {path}"
            try:
                returned = call_with_timeout(
                    functools.partial(function, task_instance, state),
                    self.facet_timeout,
                    name="lineage-run-facets",
                )
                facets = _custom_facets(returned)
            except Exception as exc:
                errors.append((source, exc))
                continue
            for key, facet in _valid_facets(facets, source, errors).items():
                if key in RESERVED_RUN_FACETS or key in lineage.run_facets:
                    problem = f"run facet {key!r} is set by the provider or an extractor; rename it"
                    errors.append((source, ExtractionError(problem)))
                else:
                    lineage.run_facets[key] = facet

    def _extracted(
        self,
        phase: str,
        operator: Any,
        context: Any,
        task_instance: Any,
        error: BaseException | str | None,
        errors: list[tuple[str, BaseException]],
    ) -> OperatorLineage:
        extractor = self.extractor_for(operator)
        try:
            if extractor is not None:
                name = type(extractor).__name__
                if phase == "start":
                    result = extractor.extract_on_start(context)
                elif phase in ("complete", "running"):
                    result = extractor.extract_on_complete(context, task_instance)
                else:
                    result = extractor.extract_on_failure(context, task_instance, error)
            else:
                name = "operator"
                result = _own_methods(phase, operator, task_instance)
            # what an extractor returns is checked here too: garbage costs the lineage, never the event
            return _normalise(result) if result is not None else OperatorLineage()
        except Exception as exc:
            errors.append((name, exc))
            return OperatorLineage()


def _task_state(state: str) -> Any:
    """Airflow's ``TaskInstanceState`` member (a ``str``: compares equal to the plain value too)."""
    try:
        from airflow.utils.state import TaskInstanceState

        return TaskInstanceState(state)
    except Exception:  # pragma: no cover - an Airflow without the enum
        return state


def _custom_facets(returned: Any) -> Mapping[str, Any]:
    """What a ``custom_run_facets`` function returned, with plain dicts made into facets.

    None is no facets. A dict value without ``_producer``/``_schemaURL`` gets this provider as producer
    and the generic RunFacet schema; it must be JSON (checked here, so a bad value costs only its facet).
    """
    import json

    from airflow_lineage_provider import PRODUCER

    if returned is None:
        return {}
    if not isinstance(returned, Mapping):
        msg = f"returned a {type(returned).__name__}; return a dict of run facets or None"
        raise ExtractionError(msg)
    facets: dict[str, Any] = {}
    for key, facet in returned.items():
        if isinstance(facet, Mapping) and not attrs.has(type(facet)):
            facet = {"_producer": PRODUCER, "_schemaURL": CUSTOM_FACET_SCHEMA, **facet}
            try:
                json.dumps(facet, allow_nan=False)
            except (TypeError, ValueError) as exc:
                msg = f"run facet {key!r} is not JSON: {exc}"
                raise ExtractionError(msg) from exc
        facets[key] = facet
    return facets


#: the lineage methods an operator may implement itself (the official provider's protocol)
_OWN_METHODS = (
    "get_openlineage_facets_on_start",
    "get_openlineage_facets_on_complete",
    "get_openlineage_facets_on_failure",
)
#: operator classes already told (once per process) that their methods need the official provider
_ADVISED: set[str] = set()


def _own_methods(phase: str, operator: Any, task_instance: Any) -> Any:
    """:func:`_operator_methods`, lent the official ``OperatorLineage`` name when that provider is absent.

    A method that needs more of the official provider fails with an ``ExtractionError`` that says so; the
    warning comes once per operator class and process (every event keeps its ``extractionError`` entry).
    """
    if not any(callable(getattr(operator, name, None)) for name in _OWN_METHODS):
        return None  # most tasks: nothing to call, nothing to lend
    from airflow_lineage_provider.extractors.official_names import missing_official_module, official_names

    try:
        with official_names():
            return _operator_methods(phase, operator, task_instance)
    except Exception as exc:
        module = missing_official_module(exc)
        if module is None:
            raise
        klass = _class_path(operator)
        msg = (
            f"{klass}'s own lineage methods import {module} from apache-airflow-providers-openlineage, which "
            "is not installed: install it and keep it disabled ([openlineage] disabled = True) to get this "
            "operator's lineage, or declare inlets/outlets"
        )
        if klass not in _ADVISED:
            _ADVISED.add(klass)
            log.warning("lineage: %s", msg)
        raise _Advised(msg) from exc


class _Advised(ExtractionError):
    """An extraction error whose advice was logged already (no per-event warning)."""


def _operator_methods(phase: str, operator: Any, task_instance: Any) -> Any:
    """The operator's ``get_openlineage_facets_on_*`` (complete falls back to start, failure to complete)."""
    on_start, on_complete, on_failure = (getattr(operator, name, None) for name in _OWN_METHODS)
    if callable(on_start) or callable(on_complete) or callable(on_failure):
        ensure_imported()  # such methods build openlineage-python objects
    if phase == "failure" and callable(on_failure):
        return on_failure(task_instance)
    if phase in ("complete", "failure", "running") and callable(on_complete):
        return on_complete(task_instance)
    if callable(on_start):
        return on_start()
    return None


def _facet_problem(facet: Any) -> str | None:
    """Why ``facet`` cannot go into an event as it is (None when it can)."""
    if attrs.has(type(facet)):  # an openlineage-python facet class: its Serde writes it
        return None
    if isinstance(facet, Mapping):
        if isinstance(facet.get("_producer"), str) and isinstance(facet.get("_schemaURL"), str):
            return None
        return "a facet given as a dict needs string _producer and _schemaURL fields"
    return f"a {type(facet).__name__} is not an OpenLineage facet"


def _valid_facets(facets: Any, where: str, errors: list[tuple[str, BaseException]]) -> dict[str, Any]:
    """The facets of ``facets`` that can be sent; each one dropped is recorded in ``errors``."""
    if not facets:
        return {}
    if not isinstance(facets, Mapping):
        errors.append(
            ("facets", ExtractionError(f"{where} facets dropped: a {type(facets).__name__}, not a dict"))
        )
        return {}
    kept = {}
    for key, facet in facets.items():
        problem = _facet_problem(facet) if isinstance(key, str) else "its key is not a string"
        if problem is None:
            kept[key] = facet
        else:
            errors.append(("facets", ExtractionError(f"{where} facet {key!r} dropped: {problem}")))
    return kept


def _drop_invalid_facets(lineage: OperatorLineage, errors: list[tuple[str, BaseException]]) -> None:
    """Remove facets no OpenLineage event can carry (they would make the event invalid or unsendable)."""
    lineage.run_facets = _valid_facets(lineage.run_facets, "run", errors)
    lineage.job_facets = _valid_facets(lineage.job_facets, "job", errors)
    for kind, datasets, own in (
        ("input", lineage.inputs, "inputFacets"),
        ("output", lineage.outputs, "outputFacets"),
    ):
        for dataset in datasets:
            for field in ("facets", own):
                value = getattr(dataset, field, None)
                if not value:
                    continue
                where = f"{kind} {getattr(dataset, 'namespace', '?')}/{getattr(dataset, 'name', '?')} {field}"
                kept = _valid_facets(value, where, errors)
                if not isinstance(value, Mapping) or len(kept) != len(value):
                    setattr(dataset, field, kept)


def _normalise(result: Any) -> OperatorLineage:
    """Any OperatorLineage-shaped object (ours, the official provider's) with proper dataset classes."""
    from airflow_lineage_provider.extractors.manual import inputs_from, outputs_from

    return OperatorLineage(
        inputs=inputs_from(getattr(result, "inputs", None) or []),
        outputs=outputs_from(getattr(result, "outputs", None) or []),
        run_facets=dict(getattr(result, "run_facets", None) or {}),
        job_facets=dict(getattr(result, "job_facets", None) or {}),
    )


def _dedupe(datasets: list[Any]) -> list[Any]:
    seen: dict[tuple[str, str], Any] = {}
    for dataset in datasets:
        key = (dataset.namespace, dataset.name)
        if key in seen:  # keep the first, add facets only the later one has
            first = seen[key]
            first.facets = {**(dataset.facets or {}), **(first.facets or {})}
        else:
            seen[key] = dataset
    return list(seen.values())


def merge(first: OperatorLineage, second: OperatorLineage) -> OperatorLineage:
    """Both lineages in one; datasets de-duplicated by (namespace, name), ``first`` wins on facet clashes."""
    return OperatorLineage(
        inputs=_dedupe([*first.inputs, *second.inputs]),
        outputs=_dedupe([*first.outputs, *second.outputs]),
        run_facets={
            **second.run_facets,
            **first.run_facets,
            **_joined_error_facet(first.run_facets, second.run_facets),
        },
        job_facets={**second.job_facets, **first.job_facets},
    )


def _joined_error_facet(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """``{"extractionError": both lists of errors}`` when both sides have one, else nothing."""
    if "extractionError" in first and "extractionError" in second:
        return {"extractionError": _join_errors(first["extractionError"], second["extractionError"])}
    return {}


def _join_errors(first: Any, second: Any) -> Any:
    """One ``extractionError`` facet holding the errors of both (either may be None); ``first`` otherwise."""
    if first is None:
        return second
    if second is None or not (attrs.has(type(first)) and attrs.has(type(second))):
        return first
    try:
        return attrs.evolve(first, errors=[*(first.errors or []), *(second.errors or [])])
    except (AttributeError, TypeError):  # not the facet class we know: keep the first, as before
        return first


def _error_facet(operator: Any, errors: list[tuple[str, BaseException]]) -> Any:
    ensure_imported()
    from openlineage.client.facet_v2 import extraction_error_run

    from airflow_lineage_provider import PRODUCER

    return extraction_error_run.ExtractionErrorRunFacet(
        totalTasks=1,
        failedTasks=1,
        errors=[
            extraction_error_run.Error(
                errorMessage=f"{source}: {type(exc).__name__}: {exc}"[:2000],
                stackTrace="".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:],
                task=getattr(operator, "task_id", None),
            )
            for source, exc in errors
        ],
        producer=PRODUCER,
    )


_manager: ExtractorManager | None = None


def get_manager() -> ExtractorManager:
    """The process's manager, configured from ``[lineage_provider] extractors``."""
    global _manager
    if _manager is None:
        from airflow_lineage_provider import conf

        _manager = ExtractorManager(
            custom=conf.custom_extractors(),
            run_facet_functions=conf.custom_run_facets(),
            facet_timeout=conf.extraction_timeout(),
            include_source_code=conf.include_source_code(),
        )
    return _manager


def reset_manager() -> None:
    """Forget the process's manager (after ``conf.clear_cache()``)."""
    global _manager
    _manager = None
