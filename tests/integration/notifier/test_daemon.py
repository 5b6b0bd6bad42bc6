"""The whole daemon in a lab host: a VRRP instance's transitions reach notify scripts, the
vrrp notify FIFO and a mail server, and the FIFO lines are the ones Debian's keepalived
writes for the same configuration in the same place."""

from __future__ import annotations

import json
import mailbox
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon import Daemon
from tests.lab import Host, Lab, Proc

pytestmark = [pytest.mark.netns]

SMTP_PORT = 2525


def wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def conf(
    workdir: Path, vip: str, *, fifo: str, log: Path, with_mail: bool, fast: bool = False
) -> str:
    script = workdir / "notify.sh"
    if not script.exists():
        script.write_text(
            f'#!/bin/sh\nout="$(basename $0)"\nfor a in "$@"; do out="$out [$a]"; done\n'
            f'echo "$out" >> {log}\n'
        )
        script.chmod(0o755)
    mail = (
        f"    smtp_server 127.0.0.1 {SMTP_PORT}\n    smtp_connect_timeout 5\n"
        "    notification_email_from ka@lb1.test\n"
        "    notification_email {\n        ops@x.test\n    }\n"
        if with_mail
        else ""
    )
    timing = "    vrrp_version 3\n" if fast else ""
    return f"""global_defs {{
{timing}    router_id lb1
    script_user root
    enable_script_security
    vrrp_notify_fifo {fifo}
    vrrp_garp_master_delay 0
{mail}}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 150
    advert_int {"0.2" if fast else "1"}
    virtual_ipaddress {{
        {vip}/24
    }}
    notify_master "{script} master"
    notify "{script} generic"
    smtp_alert
}}
"""


def read_fifo_until(fd: int, done: Callable[[str], bool], timeout: float) -> str:
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            chunk = b""
        data += chunk
        if done(data.decode()):
            break
        if not chunk:
            time.sleep(0.05)
    return data.decode()


def open_fifo(path: str, timeout: float = 10) -> int:
    wait_until(lambda: os.path.exists(path), timeout, f"FIFO {path}")
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK)


def start_mail_sink(host: Host, maildir: Path) -> Proc:
    proc = host.popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{SMTP_PORT}",
         "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
        description="aiosmtpd sink",
    )  # fmt: skip
    wait_until(
        lambda: (
            "LISTEN" in host.run(["ss", "-ltn", f"sport = :{SMTP_PORT}"], check=False)
            and f":{SMTP_PORT}" in host.run(["ss", "-ltn"], check=False)
        ),
        10,
        "the SMTP sink to listen",
    )
    return proc


def test_transitions_reach_scripts_fifo_and_mail(lab: Lab) -> None:
    a = lab["a"]
    work = lab.workdir
    work.chmod(0o755)
    fifo, log, maildir = str(work / "ours.fifo"), work / "ours.log", work / "maildir"
    start_mail_sink(a, maildir)
    text = conf(work, lab.vip(61), fifo=fifo, log=log, with_mail=True, fast=True)
    d = Daemon(a, text, "-P")
    try:
        fd = open_fifo(fifo)
        d.wait_event("vrrp.state", lambda e: e.body["state"] == "MASTER", timeout=15)
        head = read_fifo_until(fd, lambda s: "MASTER" in s, 5)
        wait_until(lambda: log.exists() and len(log.read_text().splitlines()) >= 3, 5, "scripts")
        box = mailbox.Maildir(str(maildir), create=False)
        master = "[lb1] VRRP Instance VI_1 - Entering MASTER state"
        wait_until(lambda: any(str(msg["Subject"]) == master for msg in box), 10, "MASTER alert")
        subjects = sorted(str(msg["Subject"]) for msg in box)
        status = json.dumps(d.status())  # pykeepalivectl status shows the notifier's state
        assert f'"vrrp": "{fifo}"' in status and '"instance/VI_1": "MASTER"' in status
    finally:
        d.stop()
    tail = read_fifo_until(fd, lambda s: "STOP" in s, 5)
    os.close(fd)
    assert head + tail == (
        'INSTANCE "VI_1" BACKUP 150\nINSTANCE "VI_1" MASTER 150\nINSTANCE "VI_1" STOP 150\n'
    )
    got = log.read_text().splitlines()
    assert got == [
        "notify.sh [generic] [INSTANCE] [VI_1] [BACKUP] [150]",
        "notify.sh [master]",
        "notify.sh [generic] [INSTANCE] [VI_1] [MASTER] [150]",
        "notify.sh [generic] [INSTANCE] [VI_1] [STOP] [150]",  # run while the daemon stops
    ]
    assert "[lb1] VRRP Instance VI_1 - Entering MASTER state" in subjects
    msg = next(
        m for m in mailbox.Maildir(str(maildir), create=False) if "MASTER" in str(m["Subject"])
    )
    assert msg["From"] == "ka@lb1.test" and msg["X-Mailer"] == "Keepalived"
    assert "=> VRRP Instance is now owning VRRP VIPs <=" in msg.get_payload()
    assert not os.path.exists(fifo)  # removed at stop


@pytest.mark.interop
def test_fifo_lines_equal_keepalived_for_the_same_config(lab: Lab) -> None:
    a = lab["a"]
    work = lab.workdir
    work.chmod(0o755)
    outputs: dict[str, str] = {}
    for who in ("keepalived", "pykeepalived"):
        fifo, log = str(work / f"{who}.fifo"), work / f"{who}.log"
        text = conf(work, lab.vip(62), fifo=fifo, log=log, with_mail=False, fast=True)
        if who == "keepalived":
            proc = a.start_keepalived(text, "-P")
            fd = open_fifo(fifo)
            head = read_fifo_until(fd, lambda s: "MASTER" in s, 15)
            proc.stop(grace=5)
        else:
            d = Daemon(a, text, "-P")
            try:
                fd = open_fifo(fifo)
                head = read_fifo_until(fd, lambda s: "MASTER" in s, 15)
            finally:
                d.stop()
        outputs[who] = head + read_fifo_until(fd, lambda s: "STOP" in s, 5)
        os.close(fd)
    assert outputs["pykeepalived"] == outputs["keepalived"]
    assert outputs["keepalived"].endswith('INSTANCE "VI_1" STOP 150\n')


def split_brain_heals(lab: Lab, high: str) -> tuple[str, Path]:
    """Split brain healing between keepalived and ours: both are master while VRRP is
    dropped, then adverts flow and the ``high`` side (``"ours"`` or ``"keepalived"``,
    priority 200) hears the other (100). Returns the high side's vrrp FIFO text and
    the log of its notify_master_rx_lower_pri script."""
    a, b = lab["a"], lab["b"]
    work = lab.workdir
    work.chmod(0o755)
    fifo, log = str(work / f"rx-{high}.fifo"), work / f"rx-{high}.log"
    script = work / "lower.sh"
    script.write_text('#!/bin/sh\necho "lower $*" >> "$(dirname $0)/rx-$1.log"\n')
    script.chmod(0o755)

    def conf_for(side: str) -> str:
        is_high = side == high
        extra = (
            f"    vrrp_notify_fifo {fifo}\n    script_user root\n    enable_script_security\n"
            if is_high
            else ""
        )
        notify = f'    notify_master_rx_lower_pri "{script} {high}"\n' if is_high else ""
        return f"""global_defs {{
    vrrp_version 3
{extra}}}
vrrp_instance VI_1 {{
    state BACKUP
    priority {200 if is_high else 100}
    interface eth0
    virtual_router_id 63
    advert_int 0.2
    virtual_ipaddress {{
        {lab.vip(63)}/24
    }}
{notify}}}
"""

    a.drop_vrrp()
    b.drop_vrrp()
    ka = b.start_keepalived(conf_for("keepalived"), "-P")
    d = Daemon(a, conf_for("ours"), "-P")
    try:
        fd = open_fifo(fifo)
        d.wait_event("vrrp.state", lambda e: e.body["state"] == "MASTER", timeout=10)
        wait_until(lambda: "Entering MASTER STATE" in ka.output(), 10, "keepalived master too")
        # only the low side's adverts get through: the high side hears them first
        (b if high == "ours" else a).allow_vrrp()
        text = read_fifo_until(fd, lambda s: "MASTER_RX_LOWER_PRI" in s, 10)
        wait_until(lambda: log.exists(), 5, "notify_master_rx_lower_pri")
    finally:
        a.allow_vrrp()
        b.allow_vrrp()
        d.stop()
        ka.stop(grace=5)
    os.close(fd)
    return text, log


@pytest.mark.interop
def test_master_hearing_a_lower_priority_master_runs_rx_lower_pri(lab: Lab) -> None:
    text, log = split_brain_heals(lab, "ours")
    assert 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 200\n' in text
    assert log.read_text().splitlines()[0] == "lower ours"  # no extra arguments


@pytest.mark.interop
def test_keepalived_writes_the_same_rx_lower_pri_line(lab: Lab) -> None:
    text, log = split_brain_heals(lab, "keepalived")
    assert 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 200\n' in text
    assert log.read_text().splitlines()[0] == "lower keepalived"


def alerts(maildir: Path) -> list[tuple[list[str], str, str, str]]:
    """(headers in order, Subject, body, envelope) of every message, oldest first."""
    box = mailbox.Maildir(str(maildir), create=False)
    msgs = sorted(box, key=lambda msg: msg.get_date())
    out = []
    for msg in msgs:
        names = [
            k if k == "Date" else f"{k}: {msg[k]}"  # every header's value but the date
            for k in msg
            if not k.startswith("X-") or k == "X-Mailer"
        ]
        envelope = f"{msg['X-MailFrom']} -> {msg['X-RcptTo']}"
        out.append((names, str(msg["Subject"]), str(msg.get_payload()), envelope))
    return out


def two_mails(maildir: Path) -> Callable[[], bool]:
    return lambda: maildir.exists() and len(mailbox.Maildir(str(maildir))) >= 2


@pytest.mark.interop
def test_vrrp_alert_mails_equal_keepalived_s(lab: Lab) -> None:
    """The same configuration run by keepalived, then by us, against one mail sink."""
    a = lab["a"]
    work = lab.workdir
    work.chmod(0o755)
    text = f"""global_defs {{
    router_id lb1
    vrrp_version 3
    smtp_server 127.0.0.1 {SMTP_PORT}
    smtp_helo_name helo.test
    notification_email_from ka@lb1.test
    notification_email {{
        ops@x.test
        oncall@x.test
    }}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 64
    priority 150
    advert_int 0.2
    virtual_ipaddress {{
        {lab.vip(64)}/24
    }}
    smtp_alert
}}
"""
    got: dict[str, list[tuple[list[str], str, str, str]]] = {}
    for who in ("keepalived", "pykeepalived"):
        maildir = work / f"mail-{who}"
        sink = start_mail_sink(a, maildir)
        if who == "keepalived":
            proc = a.start_keepalived(text, "-P")
            wait_until(two_mails(maildir), 15, "keepalived's BACKUP and MASTER alerts")
            proc.stop(grace=5)
        else:
            d = Daemon(a, text, "-P")
            try:
                wait_until(two_mails(maildir), 15, "our BACKUP and MASTER alerts")
            finally:
                d.stop()
        got[who] = alerts(maildir)[:2]
        sink.stop(grace=2)
    assert got["pykeepalived"] == got["keepalived"]
    assert [s for _, s, _, _ in got["keepalived"]] == [
        "[lb1] VRRP Instance VI_1 - Entering BACKUP state",
        "[lb1] VRRP Instance VI_1 - Entering MASTER state",
    ]
