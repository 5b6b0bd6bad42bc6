"""The actors: one subpackage per process (parent, vrrp, checker, ipvs, netlink, notifier)."""
