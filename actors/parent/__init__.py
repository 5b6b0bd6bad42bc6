"""The parent actor."""
