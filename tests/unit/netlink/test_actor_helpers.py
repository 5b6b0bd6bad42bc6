"""The shell's small pure helper: static items from a config."""

from __future__ import annotations

from pykeepalived.actors.netlink.actor import static_items
from pykeepalived.conf.model import Config, GlobalDefs, IPAddress, Route, Rule


def test_static_items_fill_in_default_interface() -> None:
    cfg = Config(
        global_defs=GlobalDefs(default_interface="bond0"),
        static_ipaddress=(
            IPAddress(address="10.0.0.1/32"),
            IPAddress(address="10.0.0.2/32", dev="eth1"),
        ),
        static_routes=(Route(dest="default", via="10.0.0.254"),),
        static_rules=(Rule(table="100", priority=5),),
    )
    items = static_items(cfg)
    assert [a.dev for a in items["addresses"]] == ["bond0", "eth1"]
    assert items["routes"] == list(cfg.static_routes)
    assert items["rules"] == list(cfg.static_rules)
