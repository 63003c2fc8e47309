"""Emission: build OpenLineage run events, deliver them without blocking, keep what cannot be delivered."""
