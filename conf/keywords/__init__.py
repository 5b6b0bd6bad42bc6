"""Keyword tables, one module per feature; each registers its own keywords."""
