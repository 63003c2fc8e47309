"""Operators' own lineage methods, written for the official provider, without that provider installed.

Many provider operators (common.io's ``FileTransferOperator``, the S3, GCS, BigQuery ... operators)
implement ``get_openlineage_facets_on_start/complete/failure`` and build their result with
``from airflow.providers.openlineage.extractors import OperatorLineage``, imported inside the method. With
apache-airflow-providers-openlineage uninstalled, that import fails and the operator reports nothing.

:func:`official_names` lends those methods the one name they need, only for the time of the call, and only
when the official provider is not installed: ``airflow.providers.openlineage.extractors`` (and
``.extractors.base``) with this provider's :class:`~airflow_lineage_provider.extractors.base.OperatorLineage`,
which has the same fields. Nothing else of the official provider is imitated: a method that needs more of it
(``airflow.providers.openlineage.sqlparser``, its ``utils`` ...) still fails to import, and
:func:`missing_official_module` turns that into advice.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

PACKAGE = "airflow.providers.openlineage"
_EXTRACTORS = f"{PACKAGE}.extractors"
_BASE = f"{_EXTRACTORS}.base"
_PARENT = "airflow.providers"

_lock = threading.Lock()
_users = 0
_lent: dict[str, ModuleType] = {}


@functools.cache
def official_provider_installed() -> bool:
    """Whether apache-airflow-providers-openlineage can be imported here (asked once per process)."""
    from importlib.util import find_spec

    try:
        return find_spec(PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def _module(name: str, package: bool) -> ModuleType:
    """An empty module; a package has no files, so its other modules are not found.

    It has a spec (no loader) like any imported module: ``importlib.util.find_spec`` of its name answers
    (instead of raising ValueError) and of its other modules says None, as imports find them.
    """
    from importlib.machinery import ModuleSpec

    note = "Lent by airflow-lineage-provider to an operator's lineage method (official provider absent)."
    module = ModuleType(name, note)
    module.__spec__ = ModuleSpec(name, None, origin="airflow-lineage-provider", is_package=package)
    if package:
        module.__path__ = []
    return module


def _stand_ins() -> dict[str, ModuleType]:
    from airflow_lineage_provider.extractors.base import OperatorLineage

    package = _module(PACKAGE, package=True)
    extractors = _module(_EXTRACTORS, package=True)
    base = _module(_BASE, package=False)
    for module in (extractors, base):
        module.OperatorLineage = OperatorLineage  # type: ignore[attr-defined]
    extractors.base = base  # type: ignore[attr-defined]
    package.extractors = extractors  # type: ignore[attr-defined]
    return {PACKAGE: package, _EXTRACTORS: extractors, _BASE: base}


@contextlib.contextmanager
def official_names() -> Iterator[None]:
    """``airflow.providers.openlineage.extractors.OperatorLineage`` importable inside the block.

    A no-op when the official provider is installed. The names are in ``sys.modules`` only while some
    thread is inside the block, and are removed after (unless something replaced them meanwhile).
    """
    global _users
    if official_provider_installed():
        yield
        return
    with _lock:
        if _users == 0:
            for name, module in _stand_ins().items():
                if name not in sys.modules:
                    sys.modules[name] = module
                    _lent[name] = module
            parent = sys.modules.get(_PARENT)
            if parent is not None and PACKAGE in _lent and not hasattr(parent, "openlineage"):
                parent.openlineage = _lent[PACKAGE]  # type: ignore[attr-defined]
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                parent = sys.modules.get(_PARENT)
                if parent is not None and getattr(parent, "openlineage", None) is _lent.get(PACKAGE):
                    del parent.openlineage
                for name, module in _lent.items():
                    if sys.modules.get(name) is module:
                        del sys.modules[name]
                _lent.clear()


def missing_official_module(exc: BaseException) -> str | None:
    """What of the official provider an operator's method failed to get (a module, a name), or None.

    A module it imports (``ModuleNotFoundError``), a name it imports from one (``from
    airflow.providers.openlineage import conf``: an ``ImportError``), or the provider's version, checked by
    ``airflow.providers.common.compat.openlineage.check.require_openlineage_version`` (it raises
    ``AirflowOptionalProviderFeatureException`` when the provider is not installed).
    """
    name = exc.name or "" if isinstance(exc, ImportError) else ""
    if name == PACKAGE or name.startswith(f"{PACKAGE}."):
        return name
    if (
        type(exc).__name__ == "AirflowOptionalProviderFeatureException"
        and "openlineage provider" in str(exc).lower()
    ):
        return PACKAGE  # the decorator reads the version from there when the distribution is not found
    return None
