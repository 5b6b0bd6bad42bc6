"""The netlink actor."""
