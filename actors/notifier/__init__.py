"""The notifier actor."""
