"""From keepalived.conf text to the policy's specs (groups, ports, methods, errors)."""

from __future__ import annotations

from pykeepalived.actors.ipvs.rules import SVC_F_PERSISTENT, Method, ServiceId
from pykeepalived.actors.ipvs.spec import specs_from_config, vip_instances
from pykeepalived.conf import model as m
from pykeepalived.conf.loader import load_text

CONF = """
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress { 10.0.0.1/24 }
}
virtual_server_group WEB {
  10.0.1.1-3 80
  fwmark 9
}
virtual_server 10.0.0.1 80 {
  lb_algo wrr
  lb_kind DR
  protocol TCP
  ha_suspend
  persistence_timeout 120
  quorum 2
  hysteresis 1
  sorry_server 10.0.9.9 80
  real_server 10.0.0.2 80 { weight 3
    TCP_CHECK { connect_timeout 1 } }
  real_server 10.0.0.3 80 { weight 2
    lvs_method NAT
    inhibit_on_failure
    TCP_CHECK { connect_timeout 1 }
    HTTP_GET { url { path / status_code 200 } } }
}
virtual_server group WEB {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.2.1 { weight 1 }
}
virtual_server group MISSING {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.2.1 80 { }
}
"""


def test_mapping() -> None:
    res = load_text(CONF)
    specs = specs_from_config(res.config)
    # the loader already drops a virtual_server naming an unknown group (with a message)
    assert specs.errors == []
    a, g = specs.virtual
    assert a.key == "10.0.0.1:80" and a.protocol == "tcp"
    assert a.services == (ServiceId("inet", "tcp", "10.0.0.1", 80),)
    assert (
        a.attrs.scheduler == "wrr" and a.attrs.flags & SVC_F_PERSISTENT and a.attrs.timeout == 120
    )
    assert (a.quorum, a.hysteresis, a.ha_suspend, a.address) == (2, 1, True, "10.0.0.1")
    assert a.sorry is not None and a.sorry.key == "10.0.9.9:80"
    r2, r3 = a.real_servers
    assert (r2.method, r2.weight, r2.checkers) == (Method.DR, 3, 1)
    assert (r3.method, r3.inhibit_on_failure, r3.checkers) == (Method.NAT, True, 2)
    assert g.key == "group:WEB"
    assert [str(s) for s in g.services] == [
        "tcp:10.0.1.1:80",
        "tcp:10.0.1.2:80",
        "tcp:10.0.1.3:80",
        "fwmark:9",
    ]
    assert vip_instances(res.config) == {"10.0.0.1": ["VI_1"]}


def test_unknown_group_is_an_error_not_a_crash() -> None:
    vs = m.VirtualServer(group="NOPE", real_servers=(m.RealServer(address="10.0.0.2", port=80),))
    specs = specs_from_config(m.Config(virtual_servers=(vs,)))
    assert specs.virtual == [] and "NOPE is not defined" in specs.errors[0]


def test_same_service_twice_is_refused() -> None:
    one = m.VirtualServer(address="10.0.0.1", port=80)
    grp = m.VirtualServerGroup(
        name="G", addresses=(m.VsgRange(start="10.0.0.1", end="10.0.0.2", port=80),)
    )
    two = m.VirtualServer(group="G")
    specs = specs_from_config(m.Config(virtual_servers=(one, two), virtual_server_groups=(grp,)))
    assert [v.key for v in specs.virtual] == ["10.0.0.1:80"]
    assert "already given" in specs.errors[0]
