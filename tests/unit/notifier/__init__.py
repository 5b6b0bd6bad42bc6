"""Notifier unit tests."""
