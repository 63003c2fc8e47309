"""One small exception tree: catch ``LineageProviderError`` to catch them all."""

from __future__ import annotations


class LineageProviderError(Exception):
    """Root of every error this provider raises on purpose."""


class ConfigError(LineageProviderError, ValueError):
    """A ``[lineage_provider]`` option has a bad value; the message names the option and the fix."""


class ExtractionError(LineageProviderError):
    """Lineage could not be extracted for a task (never escapes into the task)."""


class DeliveryError(LineageProviderError):
    """An event could not be handed to the transport."""


class QualityGateError(LineageProviderError, ValueError):
    """Bad quality-gate input: unknown table/column, threshold out of range, unknown mode..."""


class QualityGateBreach(LineageProviderError):
    """A quality gate measured a null rate above an error-severity threshold (``on_breach='fail'``)."""
