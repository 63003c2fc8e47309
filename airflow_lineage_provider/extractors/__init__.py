"""Extractors turn an operator (and its rendered SQL, inlets/outlets ...) into OpenLineage datasets and facets."""
