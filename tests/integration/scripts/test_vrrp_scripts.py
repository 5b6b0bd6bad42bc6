"""vrrp_script through the VRRP actor (lab host): its own ``user`` and the global
``script_user`` are the uid it runs as, a refused script is not tracked (keepalived drops
it), and a timed-out script's grandchild does not survive it."""

from __future__ import annotations

import dataclasses
import pwd
from pathlib import Path

import pytest

from pykeepalived.conf.model import NotifyScript, TrackRef, VrrpScript
from tests.integration.scripts.test_runner import gone, read_pid, script
from tests.integration.vrrp.support import VrrpProc, config, instance, wait_for
from tests.lab import Lab

pytestmark = pytest.mark.netns


def vscript(name: str, argv: tuple[str, ...], user: str | None = None, **kw: object) -> VrrpScript:
    kw.setdefault("interval", 0.5)
    kw.setdefault("timeout", 2.0)
    return VrrpScript(name=name, script=NotifyScript(argv=argv, user=user), **kw)  # type: ignore[arg-type]


def test_vrrp_scripts_run_as_their_user_and_refused_ones_are_not_tracked(
    lab: Lab, where: tuple[Path, Path]
) -> None:
    d, out = where
    whoami = script(d, "whoami", f"id -u > {out}/uid.$1.tmp && mv {out}/uid.$1.tmp {out}/uid.$1\n")
    slow = script(d, "slow", f"(trap '' TERM; exec sleep 300) &\necho $! >> {out}/gc\nsleep 300\n")
    names = ("own", "global", "refused", "slow")
    inst = instance(lab.vip(121), priority=150, version=3, advert_int=0.1,
                    track_script=tuple(TrackRef(name=n) for n in names))  # fmt: skip
    cfg = dataclasses.replace(
        config(inst, script_user="nobody"),
        vrrp_scripts=(
            vscript("own", (whoami, "own"), user="nobody"),
            vscript("global", (whoami, "global")),  # script_user nobody
            # weight 0: were it tracked, a script that never succeeds would mean FAULT
            vscript("refused", (whoami, "refused"), user="no-such-user-h2"),
            vscript("slow", (slow,), interval=1.0, timeout=0.3, weight=-10),
        ),
    )
    ours = VrrpProc(lab["a"], cfg)
    try:
        ours.wait_state("MASTER", timeout=5)  # not FAULT: "refused" is not tracked
        wait_for(lambda: (out / "uid.own").exists() and (out / "uid.global").exists(), 5, "ids")
        wait_for(lambda: (out / "gc").exists(), 5, "the slow script's grandchild")
        first = read_pid(out / "gc")
        wait_for(lambda: gone(first), 5, "grandchild of the timed-out script gone")
        st = ours.status()
    finally:
        ours.stop()
    nobody = str(pwd.getpwnam("nobody").pw_uid)
    assert (out / "uid.own").read_text().strip() == nobody
    assert (out / "uid.global").read_text().strip() == nobody
    assert not (out / "uid.refused").exists()
    assert "refused" not in st["scripts"]  # dropped, as keepalived drops it
    runs = st["script_runs"]["by_name"]
    assert runs["vrrp_script refused"]["refused"] == 1
    assert runs["vrrp_script refused"]["last"]["error"] == (
        "Script user 'no-such-user-h2' does not exist"
    )
    assert runs["vrrp_script own"]["ok"] >= 1 and runs["vrrp_script own"]["failed"] == 0
    assert runs["vrrp_script slow"]["timed_out"] >= 1
    assert runs["vrrp_script slow"]["leftovers_killed"] >= 1
    for pid in (out / "gc").read_text().split():
        assert gone(int(pid))
