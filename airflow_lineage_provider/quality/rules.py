"""Threshold rules of the quality gate and the validation of its options (usable at DAG parse time)."""

from __future__ import annotations

import ast
import decimal
import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

import attrs

from airflow_lineage_provider.exceptions import QualityGateError

ON_BREACH_MODES = ("pause", "skip", "fail", "warn")
ON_EMPTY_POLICIES = ("breach", "warn", "pass")
SEVERITIES = ("error", "warn")


def _real(value: Any) -> Any:
    """Any real number (``Decimal``, ``Fraction`` ...) as a float, so rules serialise as JSON; else as is."""
    if isinstance(value, (numbers.Real, decimal.Decimal)) and not isinstance(value, bool):
        return float(value)
    return value


def _check_rate(column: str, value: Any) -> float:
    value = _real(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"null_thresholds[{column!r}]: the max null rate must be a number in [0, 1], got {value!r}"
        raise QualityGateError(msg)
    rate = float(value)
    if math.isnan(rate) or not 0.0 <= rate <= 1.0:
        msg = (
            f"null_thresholds[{column!r}] = {value!r} is outside [0, 1]: give a rate "
            "(0.05 means at most 5% of the rows may be null)"
        )
        raise QualityGateError(msg)
    return rate


@attrs.frozen
class NullRule:
    """At most ``max_null_rate`` (0..1) of the evaluated rows may be null in ``column``.

    ``severity="warn"`` alerts and records a breach without stopping anything; ``blank_is_null`` counts
    empty strings and strings of spaces as nulls too. ``None`` for ``blank_is_null`` means "the gate's
    default".
    """

    column: str
    max_null_rate: float = attrs.field(converter=_real)
    severity: str = "error"
    blank_is_null: bool | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            msg = f"null_thresholds: column names must be non-empty strings, got {self.column!r}"
            raise QualityGateError(msg)
        _check_rate(self.column, self.max_null_rate)
        if self.severity not in SEVERITIES:
            msg = (
                f"null_thresholds[{self.column!r}]: unknown severity {self.severity!r}; "
                f"use one of {', '.join(SEVERITIES)}"
            )
            raise QualityGateError(msg)
        if self.blank_is_null is not None and not isinstance(self.blank_is_null, bool):
            msg = (
                f"null_thresholds[{self.column!r}]: blank_is_null must be True or False, "
                f"got {self.blank_is_null!r}"
            )
            raise QualityGateError(msg)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


_RULE_KEYS = {"max_null_rate", "severity", "blank_is_null"}


def parse_thresholds(null_thresholds: Any, *, blank_is_null: bool = False) -> tuple[NullRule, ...]:
    """Rules from ``{column: rate}``, ``{column: NullRule | {"max_null_rate": .., "severity": ..}}``.

    A ``NullRule`` whose ``column`` differs from its key is refused; ``blank_is_null`` fills rules that
    leave it unset.
    """
    if not isinstance(null_thresholds, Mapping) or not null_thresholds:
        msg = (
            "null_thresholds must be a non-empty mapping {column: max_null_rate}, e.g. {'email': 0.05}, "
            f"got {null_thresholds!r}"
        )
        raise QualityGateError(msg)
    rules = []
    for column, spec in null_thresholds.items():
        if isinstance(spec, NullRule):
            if spec.column != column:
                msg = f"null_thresholds[{column!r}] holds a rule for another column ({spec.column!r})"
                raise QualityGateError(msg)
            rule = spec
        elif isinstance(spec, Mapping):
            unknown = set(spec) - _RULE_KEYS
            if unknown or "max_null_rate" not in spec:
                msg = (
                    f"null_thresholds[{column!r}]: a rule needs 'max_null_rate' and may have 'severity', "
                    f"'blank_is_null'; got keys {sorted(map(str, spec))}"
                )
                raise QualityGateError(msg)
            rule = NullRule(column=column, **dict(spec))
        else:
            rule = NullRule(column=column, max_null_rate=_check_rate(column, spec))
        if rule.blank_is_null is None:
            rule = attrs.evolve(rule, blank_is_null=blank_is_null)
        rules.append(rule)
    lowered = [rule.column for rule in rules]
    if len(set(lowered)) != len(lowered):
        msg = f"null_thresholds names a column twice: {lowered}"
        raise QualityGateError(msg)
    return tuple(rules)


_SHAPE = (
    'a JSON object of column -> max null rate or rule, e.g. {"email": 0.05, '
    '"id": {"max_null_rate": 0, "severity": "warn", "blank_is_null": true}}'
)


def _shown(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _literal(text: str) -> Any:
    """A rendered string read as JSON, else as a Python literal (what ``{{ params.x }}`` renders a dict or
    a bool to without ``render_template_as_native_obj``); ``ValueError`` when it is neither."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(text) from exc


def read_thresholds(value: Any, *, rendered: bool = False) -> Any:
    """``null_thresholds`` in the shape :func:`parse_thresholds` reads.

    A string is JSON text (or the Python literal a non-native Jinja rendering of a dict gives) that must
    hold an object. ``rendered``: the value came out of template rendering, where every value is a string
    unless the DAG renders native objects, so a rate, a rule or a rule's ``max_null_rate`` /
    ``blank_is_null`` given as a string is read the same way (``"0.05"``, ``"true"``).
    """
    how = "rendered to" if rendered else "is"
    if isinstance(value, str):
        text = value
        try:
            value = _literal(text)
        except ValueError:
            value = None
        if not isinstance(value, Mapping) or not value:
            msg = (
                f"null_thresholds {how} {_shown(text)}, which is not {_SHAPE}; "
                "render a dict (render_template_as_native_obj=True on the DAG) or JSON text "
                "(e.g. '{{ params.thresholds | tojson }}', or a Variable holding JSON)"
            )
            raise QualityGateError(msg)
    if not rendered or not isinstance(value, Mapping):
        return value
    out: dict[Any, Any] = {}
    for column, spec in value.items():
        try:
            if isinstance(spec, str):
                spec = _literal(spec)
            elif isinstance(spec, Mapping):
                spec = {
                    key: _literal(item) if key in ("max_null_rate", "blank_is_null") and isinstance(item, str)
                    else item
                    for key, item in spec.items()
                }  # fmt: skip
        except ValueError as exc:
            msg = (
                f"null_thresholds[{column!r}] rendered to {_shown(exc.args[0])}, which is neither a rate in "
                "[0, 1] nor a rule object; "
                'render a number such as 0.05 or an object such as {"max_null_rate": 0.05}'
            )
            raise QualityGateError(msg) from None
        out[column] = spec
    return out


def check_choice(option: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        msg = f"{option}={value!r} is not a known value; use one of {', '.join(map(repr, choices))}"
        raise QualityGateError(msg)
    return str(value)


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def check_number(
    option: str, value: Any, *, minimum: float, maximum: float | None = None, strict: bool = False
) -> float:
    """``value`` as a number within bounds (``strict``: strictly above ``minimum``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        msg = f"{option} must be a finite number, got {value!r}"
        raise QualityGateError(msg)
    low_ok = value > minimum if strict else value >= minimum
    if not low_ok or (maximum is not None and value > maximum):
        bounds = f"{'>' if strict else '>='} {_plain(minimum)}" + (
            f" and <= {_plain(maximum)}" if maximum is not None else ""
        )
        msg = f"{option} must be {bounds}, got {value!r}"
        raise QualityGateError(msg)
    return float(value)
