"""Second pass in SQL: DuckDB sums every block of A with GROUP BY (placeholder)."""

from __future__ import annotations


def sql_statistics(source, plan, *, required: bool):
    """Partial statistics computed by DuckDB, or None when the model needs the chunked pass."""
    return None
