"""The notifier's decisions: which scripts, FIFO lines and mails, in which order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.notifier import policy as p
from pykeepalived.bus import messages as M
from pykeepalived.conf import model as m


def ns(*argv: str, **kw: Any) -> m.NotifyScript:
    return m.NotifyScript(argv=argv, raw=" ".join(argv), **kw)


GD = m.GlobalDefs(router_id="r1", smtp_server="127.0.0.1", notification_email=("ops@x",))


def vrrp_config(**gd: Any) -> m.Config:
    inst = m.VrrpInstance(
        name="VI_1",
        priority=150,
        notify_master=ns("/bin/master"),
        notify_backup=ns("/bin/backup"),
        notify_fault=ns("/bin/fault"),
        notify_stop=ns("/bin/stop"),
        notify=ns("/bin/notify", "inst"),
        notify_master_rx_lower_pri=ns("/bin/lower"),
        smtp_alert=True,
    )
    plain = m.VrrpInstance(name="VI_2", priority=100)
    grp = m.VrrpSyncGroup(
        name="G1", group=("VI_1",), notify_master=ns("/bin/gmaster"), notify=ns("/bin/gnotify"),
        smtp_alert=True,
    )  # fmt: skip
    return m.Config(
        global_defs=m.GlobalDefs(**{**_gd_dict(GD), **gd}),
        vrrp_instances=(inst, plain),
        vrrp_sync_groups=(grp,),
    )


def _gd_dict(g: m.GlobalDefs) -> dict[str, Any]:
    return {f: getattr(g, f) for f in ("router_id", "smtp_server", "notification_email")}


class WireCore:
    """The core as the actor drives it: each body read through the bus catalogue first
    (a body the catalogue refuses raises InvalidBody, a ValueError, before the core)."""

    HANDLERS: dict[str, type[M.Event]] = {
        "on_vrrp_state": M.VrrpState,
        "on_vrrp_group": M.VrrpGroup,
        "on_rx_lower_pri": M.VrrpRxLowerPri,
        "on_vrrp_priority": M.VrrpPriority,
        "on_check_result": M.CheckResult,
        "on_quorum": M.LbQuorum,
    }

    def __init__(self, core: p.NotifierCore) -> None:
        self.core = core

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.core, name)
        cls = self.HANDLERS.get(name)
        if cls is None:
            return attr
        return lambda body: attr(cls.from_body(body))


def core_for(config: m.Config) -> Any:
    return WireCore(p.NotifierCore(p.settings_from_config(config, "host1")))


def describe(cmds: list[p.Command]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for c in cmds:
        if isinstance(c, p.RunScript):
            out.append(("run", c.queue, c.argv, c.timeout))
        elif isinstance(c, p.WriteFifo):
            out.append(("fifo", c.family, c.line))
        else:
            out.append(("mail", c.subject, c.body))
    return out


def state(name: str, st: str, prio: int = 150, prev: str = "BACKUP") -> dict[str, Any]:
    return {"instance": name, "vrid": 51, "family": "inet", "interface": "eth0",
            "state": st, "prev": prev, "priority": prio, "reason": "test"}  # fmt: skip


def test_instance_transition_order_and_contents() -> None:
    core = core_for(vrrp_config())
    cmds = core.on_vrrp_state(state("VI_1", "MASTER"))
    assert describe(cmds) == [
        ("run", "instance/VI_1", ("/bin/master",), p.DEFAULT_SCRIPT_TIMEOUT),
        ("run", "instance/VI_1", ("/bin/notify", "inst", "INSTANCE", "VI_1", "MASTER", "150"),
         p.DEFAULT_SCRIPT_TIMEOUT),
        ("fifo", "vrrp", 'INSTANCE "VI_1" MASTER 150\n'),
        ("mail", "[r1] VRRP Instance VI_1 - Entering MASTER state",
         "=> VRRP Instance is now owning VRRP VIPs <="),
    ]  # fmt: skip


def test_stop_scripts_get_keepalived_one_second() -> None:
    core = core_for(vrrp_config())
    cmds = [c for c in core.on_vrrp_state(state("VI_1", "STOP")) if isinstance(c, p.RunScript)]
    assert [(c.argv[0], c.timeout) for c in cmds] == [("/bin/stop", 1.0), ("/bin/notify", 1.0)]
    # a queue of their own: not behind a notify_master that may still run
    assert {c.queue for c in cmds} == {"instance/VI_1/stop"}


def test_configured_timeout_wins() -> None:
    cfg = vrrp_config()
    inst = cfg.vrrp_instances[0]
    inst = m.VrrpInstance(**{**{f: getattr(inst, f) for f in ("name", "priority")},
                             "notify_backup": ns("/bin/b", timeout=4.5)})  # fmt: skip
    core = core_for(m.Config(global_defs=cfg.global_defs, vrrp_instances=(inst,)))
    run = core.on_vrrp_state(state("VI_1", "BACKUP"))[0]
    assert isinstance(run, p.RunScript) and run.timeout == 4.5


def test_mail_once_per_state_and_no_email_faults() -> None:
    core = core_for(vrrp_config(no_email_faults=True))
    mails = lambda cmds: [c for c in cmds if isinstance(c, p.SendMail)]  # noqa: E731
    assert len(mails(core.on_vrrp_state(state("VI_1", "MASTER")))) == 1
    assert mails(core.on_vrrp_state(state("VI_1", "MASTER"))) == []  # same state again
    assert mails(core.on_vrrp_state(state("VI_1", "FAULT"))) == []  # no_email_faults
    assert len(mails(core.on_vrrp_state(state("VI_1", "BACKUP")))) == 1
    # instance without smtp_alert, and a config without a mail server: no mail
    assert mails(core.on_vrrp_state(state("VI_2", "MASTER", 100))) == []
    quiet = core_for(vrrp_config(smtp_server=None))
    assert mails(quiet.on_vrrp_state(state("VI_1", "MASTER"))) == []


def test_init_has_no_notifies_and_deleted_is_fault_by_default() -> None:
    core = core_for(vrrp_config())
    assert core.on_vrrp_state(state("VI_1", "INIT")) == []
    cmds = describe(core.on_vrrp_state(state("VI_1", "DELETED")))
    assert cmds[0] == ("run", "instance/VI_1", ("/bin/fault",), p.DEFAULT_SCRIPT_TIMEOUT)
    assert ("fifo", "vrrp", 'INSTANCE "VI_1" FAULT 150\n') in cmds


def test_unknown_instance_still_writes_fifo() -> None:
    core = core_for(vrrp_config())
    assert describe(core.on_vrrp_state(state("VI_9", "MASTER", 90))) == [
        ("fifo", "vrrp", 'INSTANCE "VI_9" MASTER 90\n')
    ]
    assert core.unknown == 1


def test_group_transition() -> None:
    core = core_for(vrrp_config())
    cmds = describe(core.on_vrrp_group({"group": "G1", "state": "MASTER", "prev": "BACKUP"}))
    assert cmds == [
        ("run", "group/G1", ("/bin/gmaster",), p.DEFAULT_SCRIPT_TIMEOUT),
        ("run", "group/G1", ("/bin/gnotify", "GROUP", "G1", "MASTER", "0"),
         p.DEFAULT_SCRIPT_TIMEOUT),
        ("fifo", "vrrp", 'GROUP "G1" MASTER 0\n'),
        ("mail", "[r1] VRRP Group G1 - Entering MASTER state",
         "=> All VRRP group instances are now in MASTER state <="),
    ]  # fmt: skip
    # no notify_backup script for the group: generic only
    cmds = describe(core.on_vrrp_group({"group": "G1", "state": "BACKUP", "prev": "MASTER"}))
    assert [c[2][0] for c in cmds if c[0] == "run"] == ["/bin/gnotify"]


def test_rx_lower_pri_and_priority_changes() -> None:
    core = core_for(vrrp_config(vrrp_notify_priority_changes=True))
    core.on_vrrp_state(state("VI_1", "MASTER", 140))
    rx = {"instance": "VI_1", "src": "10.0.0.9", "priority": 50}  # the advert's priority
    assert describe(core.on_rx_lower_pri(rx)) == [
        ("run", "instance/VI_1", ("/bin/lower",), p.DEFAULT_SCRIPT_TIMEOUT),
        ("fifo", "vrrp", 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 140\n'),
    ]
    prio = {"instance": "VI_1", "state": "MASTER", "priority": 120, "prev_priority": 140}
    assert describe(core.on_vrrp_priority(prio)) == [
        ("fifo", "vrrp", 'INSTANCE "VI_1" MASTER_PRIORITY 120\n')
    ]
    off = core_for(vrrp_config())
    low = {"instance": "VI_1", "priority": 1, "state": "BACKUP", "prev_priority": 100}
    assert off.on_vrrp_priority(low) == []


def test_a_start_up_priority_is_a_backup_priority_line_once() -> None:
    """keepalived announces the weights applied in INIT (a track_file's value at start)
    as BACKUP_PRIORITY; a restarted vrrp actor's start, already announced, is not."""
    core = core_for(vrrp_config(vrrp_notify_priority_changes=True))
    init = {"instance": "VI_1", "state": "INIT", "priority": 140, "prev_priority": 150}
    assert describe(core.on_vrrp_priority(init)) == [
        ("fifo", "vrrp", 'INSTANCE "VI_1" BACKUP_PRIORITY 140\n')
    ]
    core.on_vrrp_state(state("VI_1", "MASTER", 140))
    assert core.on_vrrp_priority(init) == []
    fault = {"instance": "VI_1", "state": "FAULT", "priority": 130, "prev_priority": 140}
    assert core.on_vrrp_priority(fault) == []


@pytest.mark.parametrize(
    "body",
    [
        {"state": "MASTER"},
        {"instance": "VI_1"},
        {"instance": "VI_1", "state": "MASTER", "priority": "high"},
        {"instance": 3, "state": "MASTER"},
    ],
)
def test_malformed_vrrp_bodies_raise_value_error(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        core_for(vrrp_config()).on_vrrp_state(body)


# ---------------------------------------------------------------------------- LVS side


def lvs_config(**gd: Any) -> m.Config:
    rs1 = m.RealServer(
        address="10.0.0.2", port=80, weight=2,
        notify_up=ns("/bin/up", "rs1"), notify_down=ns("/bin/down", "rs1"),
        checkers=(m.TcpCheck(kind="TCP_CHECK"), m.HttpGetCheck(kind="HTTP_GET")),
    )  # fmt: skip
    rs2 = m.RealServer(
        address="10.0.0.3", port=80, weight=1,
        checkers=(m.MiscCheck(kind="MISC_CHECK", alpha=True),), smtp_alert=False,
    )  # fmt: skip
    vs = m.VirtualServer(
        address="10.0.0.1", port=80, quorum=2, hysteresis=1,
        quorum_up=ns("/bin/qup"), quorum_down=ns("/bin/qdown"), smtp_alert=True,
        real_servers=(rs1, rs2),
    )  # fmt: skip
    return m.Config(global_defs=m.GlobalDefs(**{**_gd_dict(GD), **gd}), virtual_servers=(vs,))


def result(
    rs: str, checker: str, up: bool, reason: str = "", weight: int | None = None
) -> dict[str, Any]:
    return {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "real_server": rs,
            "checker": checker, "up": up, "reason": reason, "weight": weight}  # fmt: skip


VS = "[10.0.0.1]:tcp:80"
RS1 = "[10.0.0.2]:tcp:80"


def test_real_server_goes_down_on_first_failing_checker_and_up_when_all_pass() -> None:
    core = core_for(lvs_config())
    # start verdicts equal to the initial state (not alpha): nothing to say
    assert core.on_check_result(result("10.0.0.2:80", "TCP_CHECK", True)) == []
    assert core.on_check_result(result("10.0.0.2:80", "HTTP_GET", True)) == []
    cmds = describe(core.on_check_result(result("10.0.0.2:80", "HTTP_GET", False)))
    assert cmds == [
        ("run", "rs/10.0.0.1:80/tcp/10.0.0.2:80", ("/bin/down", "rs1"), p.DEFAULT_SCRIPT_TIMEOUT),
        ("fifo", "lvs", f"RS {RS1} {VS} DOWN\n"),
        ("mail", f"[r1] Realserver {RS1} of virtual server {VS} - DOWN",
         "=> CHECK failed on service : HTTP request failed <="),
    ]  # fmt: skip
    # a second checker failing: no RS change, still a mail (checker emails on)
    cmds = describe(core.on_check_result(result("10.0.0.2:80", "TCP_CHECK", False)))
    assert cmds == [
        ("mail", f"[r1] Realserver {RS1} of virtual server {VS} - DOWN",
         "=> TCP CHECK failed on service <="),
    ]  # fmt: skip
    cmds = describe(core.on_check_result(result("10.0.0.2:80", "TCP_CHECK", True)))
    assert [c[0] for c in cmds] == ["mail"]
    assert cmds[0][1].endswith(" - DOWN")  # the RS is still down: HTTP_GET fails
    cmds = describe(core.on_check_result(result("10.0.0.2:80", "HTTP_GET", True)))
    assert cmds == [
        ("run", "rs/10.0.0.1:80/tcp/10.0.0.2:80", ("/bin/up", "rs1"), p.DEFAULT_SCRIPT_TIMEOUT),
        ("fifo", "lvs", f"RS {RS1} {VS} UP\n"),
        ("mail", f"[r1] Realserver {RS1} of virtual server {VS} - UP",
         "=> CHECK succeed on service <="),
    ]  # fmt: skip


def test_no_checker_emails_mails_only_real_server_changes() -> None:
    core = core_for(lvs_config(no_checker_emails=True))
    first = core.on_check_result(result("10.0.0.2:80", "HTTP_GET", False))
    assert sum(isinstance(c, p.SendMail) for c in first) == 1
    second = core.on_check_result(result("10.0.0.2:80", "TCP_CHECK", False))
    assert second == []


def test_alpha_start_is_announced_once_and_smtp_alert_off_sends_nothing() -> None:
    core = core_for(lvs_config())
    cmds = describe(core.on_check_result(result("10.0.0.3:80", "MISC_CHECK", False)))
    assert cmds == [("fifo", "lvs", f"RS [10.0.0.3]:tcp:80 {VS} DOWN\n")]
    assert core.on_check_result(result("10.0.0.3:80", "MISC_CHECK", False)) == []
    cmds = describe(core.on_check_result(result("10.0.0.3:80", "MISC_CHECK", True, weight=5)))
    assert cmds == [("fifo", "lvs", f"RS [10.0.0.3]:tcp:80 {VS} UP\n")]  # smtp_alert off


def test_quorum_changes_with_weights() -> None:
    core = core_for(lvs_config())
    # initial: rs1 alive (weight 2), rs2 alpha → 2 >= quorum 2 + hysteresis 1? no: down
    assert core.quorum[("10.0.0.1:80", "tcp")] is False
    assert core.on_quorum({"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": False}) == []
    core.on_check_result(result("10.0.0.3:80", "MISC_CHECK", True, weight=5))
    assert core.weight_sum("10.0.0.1:80", "tcp") == 7
    cmds = describe(
        core.on_quorum({"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": True})
    )
    assert cmds == [
        ("run", "vs/10.0.0.1:80/tcp", ("/bin/qup",), p.DEFAULT_SCRIPT_TIMEOUT),
        ("fifo", "lvs", f"VS {VS} UP\n"),
        ("mail", f"[r1] Virtualserver {VS} - UP", "=> Gained quorum 2+1=3 <= 7 <="),
    ]  # fmt: skip
    core.on_check_result(result("10.0.0.2:80", "TCP_CHECK", False))
    core.on_check_result(result("10.0.0.3:80", "MISC_CHECK", False))
    cmds = describe(
        core.on_quorum({"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": False})
    )
    assert cmds[0][2] == ("/bin/qdown",)
    assert cmds[2] == ("mail", f"[r1] Virtualserver {VS} - DOWN", "=> Lost quorum 2+1=1 <= 0 <=")


def test_rs_init_notifies_and_removal_on_reload() -> None:
    cfg = lvs_config(rs_init_notifies=True)
    core = core_for(cfg)
    assert describe(core.startup()) == [
        ("run", "rs/10.0.0.1:80/tcp/10.0.0.2:80", ("/bin/up", "rs1"), p.DEFAULT_SCRIPT_TIMEOUT),
        ("fifo", "lvs", f"RS {RS1} {VS} UP\n"),
    ]
    vs = cfg.virtual_servers[0]
    smaller = m.Config(
        global_defs=cfg.global_defs,
        virtual_servers=(m.VirtualServer(address="10.0.0.1", port=80, quorum=2, hysteresis=1,
                                         real_servers=vs.real_servers[1:]),),
    )  # fmt: skip
    cmds = describe(core.reconfigure(p.settings_from_config(smaller, "host1")))
    assert cmds == [
        ("run", "rs/10.0.0.1:80/tcp/10.0.0.2:80", ("/bin/down", "rs1"), p.DEFAULT_SCRIPT_TIMEOUT),
        ("fifo", "lvs", f"RS {RS1} {VS} DOWN\n"),
        ("mail", f"[r1] Realserver {RS1} of virtual server {VS} - DOWN", "=> Removing <="),
    ]  # fmt: skip


def test_reload_keeps_checker_state() -> None:
    cfg = lvs_config()
    core = core_for(cfg)
    core.on_check_result(result("10.0.0.2:80", "TCP_CHECK", False))
    core.reconfigure(p.settings_from_config(cfg, "host1"))
    assert core.rs[("10.0.0.1:80", "tcp", "10.0.0.2:80")].alive is False
    # recovering now is a change, announced
    cmds = core.on_check_result(result("10.0.0.2:80", "TCP_CHECK", True))
    assert any(isinstance(c, p.WriteFifo) and c.line.endswith("UP\n") for c in cmds)


def test_unknown_and_malformed_check_results() -> None:
    core = core_for(lvs_config())
    assert core.on_check_result(result("10.9.9.9:80", "TCP_CHECK", False)) == []
    assert core.unknown == 1
    with pytest.raises(ValueError):
        core.on_check_result({**result("10.0.0.2:80", "TCP_CHECK", False), "up": "no"})
    with pytest.raises(ValueError):
        core.on_check_result({**result("10.0.0.2:80", "TCP_CHECK", False), "weight": "x"})
    with pytest.raises(ValueError):
        core.on_quorum({"virtual_server": "10.0.0.1:80", "protocol": "tcp"})


def test_checker_names_match_the_checker_actor() -> None:
    rs = m.RealServer(address="10.0.0.2", port=80, checkers=(
        m.TcpCheck(kind="TCP_CHECK"), m.TcpCheck(kind="TCP_CHECK", alpha=True),
        m.HttpGetCheck(kind="HTTP_GET"), m.BfdCheck(kind="BFD_CHECK"),
    ))  # fmt: skip
    assert p.checker_names(rs) == {"TCP_CHECK#1": False, "TCP_CHECK#2": True, "HTTP_GET": False}


def test_all_scripts_lists_every_script() -> None:
    s = p.settings_from_config(vrrp_config(), "h")
    argv0 = sorted(x.argv[0] for x in p.all_scripts(s))
    expected = ["/bin/master", "/bin/backup", "/bin/fault", "/bin/stop", "/bin/notify"]
    expected += ["/bin/lower", "/bin/gmaster", "/bin/gnotify"]
    assert argv0 == sorted(expected)
    s2 = p.settings_from_config(lvs_config(), "h")
    assert sorted(x.argv[0] for x in p.all_scripts(s2)) == [
        "/bin/down",
        "/bin/qdown",
        "/bin/qup",
        "/bin/up",
    ]


def test_fifo_write_vrrp_states_on_reload() -> None:
    cfg = vrrp_config(fifo_write_vrrp_states_on_reload=True)
    core = core_for(cfg)
    core.on_vrrp_state(state("VI_1", "MASTER", 140))
    core.on_vrrp_group({"group": "G1", "state": "MASTER", "prev": "BACKUP"})
    cmds = describe(core.reconfigure(p.settings_from_config(cfg, "host1")))
    assert cmds == [
        ("fifo", "vrrp", 'GROUP "G1" MASTER 0\n'),
        ("fifo", "vrrp", 'INSTANCE "VI_1" MASTER 140\n'),
    ]
    quiet = core_for(vrrp_config())
    quiet.on_vrrp_state(state("VI_1", "MASTER", 140))
    assert quiet.reconfigure(p.settings_from_config(vrrp_config(), "host1")) == []


@settings(deadline=None, max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(["TCP_CHECK", "HTTP_GET"]), st.booleans()),
        max_size=40,
    )
)
def test_real_server_announcements_follow_its_state(results: list[tuple[str, bool]]) -> None:
    """Whatever the verdicts, RS lines alternate, start from the initial state, and end at
    the conjunction of each checker's last verdict; scripts match the lines one to one."""
    core = core_for(lvs_config())
    alive = True
    last = {"TCP_CHECK": True, "HTTP_GET": True}
    announced: list[bool] = []
    scripts: list[str] = []
    for checker, up in results:
        for c in core.on_check_result(result("10.0.0.2:80", checker, up)):
            if isinstance(c, p.WriteFifo):
                announced.append(c.line.endswith(" UP\n"))
            elif isinstance(c, p.RunScript):
                scripts.append(c.script.argv[0])
        last[checker] = up
    alive = all(last.values())
    for prev, cur in zip([True, *announced], announced, strict=False):
        assert prev != cur
    assert (announced[-1] if announced else True) == alive
    assert scripts == ["/bin/up" if a else "/bin/down" for a in announced]


def test_omega_shutdown_announces_live_servers_once() -> None:
    core = core_for(lvs_config())
    stop = {**result("10.0.0.2:80", "TCP_CHECK", False), "reason": "checker stopping (omega)"}
    cmds = describe(core.on_check_result(stop))
    assert cmds == [
        ("run", "rs/10.0.0.1:80/tcp/10.0.0.2:80", ("/bin/down", "rs1"), p.STOP_SCRIPT_TIMEOUT),
        ("fifo", "lvs", f"RS {RS1} {VS} DOWN\n"),
        ("mail", f"[r1] Realserver {RS1} of virtual server {VS} - DOWN", "=> Shutting down <="),
    ]  # fmt: skip
    # the second checker going down while stopping: the server is already announced
    again = {**result("10.0.0.2:80", "HTTP_GET", False), "stopping": True}
    assert core.on_check_result(again) == []
    core.quorum[("10.0.0.1:80", "tcp")] = True
    q = {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": False, "stopping": True}
    cmds = describe(core.on_quorum(q))
    assert cmds[0] == ("run", "vs/10.0.0.1:80/tcp", ("/bin/qdown",), p.STOP_SCRIPT_TIMEOUT)
    assert cmds[2] == ("mail", f"[r1] Virtualserver {VS} - DOWN", "=> Shutting down <=")


def test_a_resumed_state_is_not_announced_twice() -> None:
    core = core_for(vrrp_config())
    assert core.on_vrrp_state(state("VI_1", "MASTER"))
    resumed = {**state("VI_1", "MASTER", prev="INIT"), "reason": "resume"}
    assert core.on_vrrp_state(resumed) == []
    assert core.resumed == 1
    # a resume into another state than the one known is a real change
    other = {**state("VI_1", "BACKUP", prev="INIT"), "reason": "resume"}
    assert any(isinstance(c, p.WriteFifo) for c in core.on_vrrp_state(other))
    # and after our own restart nothing is known: announced
    fresh = core_for(vrrp_config())
    assert fresh.on_vrrp_state(resumed)


def test_a_resumed_group_is_not_announced_twice() -> None:
    core = core_for(vrrp_config())
    assert core.on_vrrp_group({"group": "G1", "state": "MASTER", "prev": "BACKUP"})
    resumed = {"group": "G1", "state": "MASTER", "prev": "INIT", "reason": "resume"}
    assert core.on_vrrp_group(resumed) == []
    assert core.resumed == 1
    assert core_for(vrrp_config()).on_vrrp_group(resumed)  # unknown here: announced


# Debian keepalived 2.2.7, sync group G1 = VI_1 (priority 150) + VI_2 (100), no peer:
# every member announces its own transitions, the group line comes after its members'
KEEPALIVED_227_SYNC_GROUP = [
    'GROUP "G1" BACKUP 0\n',
    'INSTANCE "VI_1" BACKUP 150\n',
    'INSTANCE "VI_2" BACKUP 100\n',
    'INSTANCE "VI_2" MASTER 100\n',
    'INSTANCE "VI_1" MASTER 150\n',
    'GROUP "G1" MASTER 0\n',
    'INSTANCE "VI_1" STOP 150\n',
    'INSTANCE "VI_2" STOP 100\n',
    'GROUP "G1" STOP 0\n',
]


def test_sync_group_members_each_announce_as_keepalived() -> None:
    vi = (m.VrrpInstance(name="VI_1", priority=150), m.VrrpInstance(name="VI_2", priority=100))
    grp = m.VrrpSyncGroup(name="G1", group=("VI_1", "VI_2"))
    core = core_for(m.Config(vrrp_instances=vi, vrrp_sync_groups=(grp,)))
    events = [
        ("G1", "BACKUP", 0), ("VI_1", "BACKUP", 150), ("VI_2", "BACKUP", 100),
        ("VI_2", "MASTER", 100), ("VI_1", "MASTER", 150), ("G1", "MASTER", 0),
        ("VI_1", "STOP", 150), ("VI_2", "STOP", 100), ("G1", "STOP", 0),
    ]  # fmt: skip
    out: list[str] = []
    for name, st_, prio in events:
        if name.startswith("G"):
            cmds = core.on_vrrp_group({"group": name, "state": st_, "prev": "INIT"})
        else:
            cmds = core.on_vrrp_state(state(name, st_, prio))
        out += [c.line for c in cmds if isinstance(c, p.WriteFifo)]
    assert out == KEEPALIVED_227_SYNC_GROUP
