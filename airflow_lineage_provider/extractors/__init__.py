"""Extractors turn an operator (its rendered SQL, inlets/outlets ...) into OpenLineage datasets and facets."""
