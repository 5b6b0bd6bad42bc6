"""The vrrp actor."""
