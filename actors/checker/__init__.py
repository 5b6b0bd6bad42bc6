"""The checker actor."""
