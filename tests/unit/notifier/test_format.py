"""keepalived's exact notify formats: FIFO lines, generic notify argv, SMTP texts and message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.notifier import format as fmt

# Lines captured from Debian's keepalived 2.2.7 (vrrp_notify_fifo and notify_fifo, one
# sync group G1 with one instance VI_1 priority 150: start, become master, stop)
KEEPALIVED_227_FIFO = (
    'GROUP "G1" BACKUP 0\n'
    'INSTANCE "VI_1" BACKUP 150\n'
    'INSTANCE "VI_1" MASTER 150\n'
    'GROUP "G1" MASTER 0\n'
    'INSTANCE "VI_1" STOP 150\n'
    'GROUP "G1" STOP 0\n'
)


def test_vrrp_fifo_lines_match_keepalived_capture() -> None:
    lines = [
        fmt.fifo_vrrp_line(True, "G1", "BACKUP", 0),
        fmt.fifo_vrrp_line(False, "VI_1", "BACKUP", 150),
        fmt.fifo_vrrp_line(False, "VI_1", "MASTER", 150),
        fmt.fifo_vrrp_line(True, "G1", "MASTER", 0),
        fmt.fifo_vrrp_line(False, "VI_1", "STOP", 150),
        fmt.fifo_vrrp_line(True, "G1", "STOP", 0),
    ]
    assert "".join(lines) == KEEPALIVED_227_FIFO


def test_vrrp_fifo_events_and_unknown_state() -> None:
    assert fmt.fifo_vrrp_line(False, "V", "MASTER_RX_LOWER_PRI", 200) == (
        'INSTANCE "V" MASTER_RX_LOWER_PRI 200\n'
    )
    assert (
        fmt.fifo_vrrp_line(False, "V", "BACKUP_PRIORITY", 90) == 'INSTANCE "V" BACKUP_PRIORITY 90\n'
    )
    assert fmt.fifo_vrrp_line(False, "V", "INIT", 90) == 'INSTANCE "V" {UNKNOWN} 90\n'


def test_lvs_fifo_lines() -> None:
    vs = fmt.ka_service("10.0.0.1:80", "tcp")
    rs = fmt.ka_service("10.0.0.2:8080", "tcp")
    assert fmt.fifo_vs_line(vs, True) == "VS [10.0.0.1]:tcp:80 UP\n"
    assert fmt.fifo_rs_line(rs, vs, False) == "RS [10.0.0.2]:tcp:8080 [10.0.0.1]:tcp:80 DOWN\n"


@pytest.mark.parametrize(
    ("key", "proto", "expected"),
    [
        ("10.0.0.1:80", "tcp", "[10.0.0.1]:tcp:80"),
        ("[2001:db8::1]:443", "udp", "[2001:db8::1]:udp:443"),
        ("2001:db8::1", "tcp", "[2001:db8::1]:tcp:0"),
        ("10.0.0.1", "sctp", "[10.0.0.1]:sctp:0"),
        ("fwmark:7", "tcp", "FWM 7"),
        ("group:web", "tcp", "[web]:0"),
    ],
)
def test_ka_service_spellings(key: str, proto: str, expected: str) -> None:
    assert fmt.ka_service(key, proto) == expected


@pytest.mark.parametrize("bad", ["", "[::1", "1.2.3.4:http", "fwmark:x", "group:", "[::1]x"])
def test_ka_service_rejects_malformed_keys(bad: str) -> None:
    with pytest.raises(ValueError):
        fmt.ka_service(bad, "tcp")


def test_generic_notify_argv_as_keepalived() -> None:
    # captured: notify "/tmp/notify.sh inst 'a b'" received "inst a b INSTANCE VI_1 MASTER 150"
    base = ("/tmp/notify.sh", "inst", "a b")
    assert fmt.generic_notify_argv(base, False, "VI_1", "MASTER", 150) == (
        "/tmp/notify.sh", "inst", "a b", "INSTANCE", "VI_1", "MASTER", "150",
    )  # fmt: skip
    assert fmt.generic_notify_argv(("/x",), True, "G1", "STOP", 0)[1:] == (
        "GROUP", "G1", "STOP", "0",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("state", "subject", "body"),
    [
        ("MASTER", "[r1] VRRP Instance VI_1 - Entering MASTER state",
         "=> VRRP Instance is now owning VRRP VIPs <="),
        ("BACKUP", "[r1] VRRP Instance VI_1 - Entering BACKUP state",
         "=> VRRP Instance is no longer owning VRRP VIPs <="),
        ("FAULT", "[r1] VRRP Instance VI_1 - Entering FAULT state",
         "=> VRRP Instance is no longer owning VRRP VIPs <="),
        ("STOP", "[r1] VRRP Instance VI_1 - Stopping", "=> VRRP Instance stopping <="),
        ("DELETED", "[r1] VRRP Instance VI_1 - Deleted", "=> VRRP Deleted at reload <="),
    ],
)  # fmt: skip
def test_vrrp_alert_texts(state: str, subject: str, body: str) -> None:
    assert fmt.vrrp_alert("r1", "VI_1", state) == (subject, body)


def test_group_alert_texts() -> None:
    assert fmt.group_alert("r1", "G1", "MASTER") == (
        "[r1] VRRP Group G1 - Entering MASTER state",
        "=> All VRRP group instances are now in MASTER state <=",
    )
    assert fmt.group_alert("r1", "G1", "STOP") == (
        "[r1] VRRP Group G1 - Stopping",
        "=> All VRRP group instances are now stopping <=",
    )
    assert fmt.group_alert("r1", "G1", "DELETED") is None
    assert fmt.vrrp_alert("r1", "VI_1", "INIT") is None


def test_checker_alert_texts() -> None:
    assert fmt.rs_subject("r1", "[10.0.0.2]:tcp:80", "[10.0.0.1]:tcp:80", False) == (
        "[r1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN"
    )
    assert fmt.checker_body("TCP_CHECK", True) == "=> TCP CHECK succeed on service <="
    assert fmt.checker_body("TCP_CHECK#2", False) == "=> TCP CHECK failed on service <="
    assert fmt.checker_body("HTTP_GET", False) == (
        "=> CHECK failed on service : HTTP request failed <="
    )
    assert fmt.checker_body("SSL_GET", True) == "=> CHECK succeed on service <="
    assert fmt.checker_body("SMTP_CHECK", False, "Error connecting") == (
        "=> CHECK failed on service : Error connecting <="
    )
    assert fmt.checker_body("DNS_CHECK", False) == "=> DNS_CHECK: failed on service <="
    assert fmt.checker_body("UDP_CHECK", True) == "=> UDP CHECK succeed on service <="
    assert fmt.checker_body("PING_CHECK", False) == "=> ICMP CHECK failed on service <="
    assert fmt.checker_body("MISC_CHECK", False, "x.sh timed out after 3 s") == (
        "=> MISC CHECK timed out on service <="
    )
    assert fmt.checker_body("MISC_CHECK", False, "x.sh exited 1") == (
        "=> MISC CHECK failed on service <="
    )
    assert fmt.checker_body("MISC_CHECK", True) == "=> MISC CHECK succeeded on service <="
    assert fmt.checker_body("FILE_CHECK", True) is None


def test_quorum_texts() -> None:
    assert fmt.vs_subject("r1", "[10.0.0.1]:tcp:80", True) == (
        "[r1] Virtualserver [10.0.0.1]:tcp:80 - UP"
    )
    assert fmt.quorum_body(True, False, 2, 1, 3, 3) == "=> Gained quorum 2+1=3 <= 3 <="
    assert fmt.quorum_body(False, False, 2, 1, 1, 0) == "=> Lost quorum 2+1=1 <= 0 <="
    assert fmt.quorum_body(False, True, 1, 0, 1, 0) == "=> Starting with quorum down 1+0=1 <= 0 <="


def test_rfc822_date_is_c_locale_with_offset() -> None:
    when = datetime(2021, 3, 1, 9, 44, 8, tzinfo=UTC)
    assert fmt.rfc822_date(when) == "Mon, 01 Mar 2021 09:44:08 +0000"
    east = datetime(2026, 11, 29, 7, 5, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert fmt.rfc822_date(east) == "Sun, 29 Nov 2026 07:05:01 +0530"
    west = datetime(2026, 1, 2, 23, 0, 0, tzinfo=timezone(-timedelta(hours=8)))
    assert fmt.rfc822_date(west) == "Fri, 02 Jan 2026 23:00:00 -0800"


def test_mail_data_bytes_as_keepalived() -> None:
    data = fmt.mail_data(
        "Mon, 01 Mar 2021 09:44:08 +0000",
        "ka@h1",
        "[r1] VRRP Instance VI_1 - Entering MASTER state",
        ("a@x", "b@y"),
        "=> VRRP Instance is now owning VRRP VIPs <=",
    )
    assert data == (
        b"Date: Mon, 01 Mar 2021 09:44:08 +0000\r\nFrom: ka@h1\r\n"
        b"Subject: [r1] VRRP Instance VI_1 - Entering MASTER state\r\n"
        b"X-Mailer: Keepalived\r\nTo: a@x, b@y\r\n\r\n"
        b"=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n.\r\n"
    )


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=80))
def test_mail_data_never_ends_early(body: str) -> None:
    """Whatever the body, the only line that is a lone dot is the terminator."""
    body = body.replace("\r", "").replace("\n", "\r\n")
    data = fmt.mail_data("d", "f", "s", ("t",), body)
    lines = data.split(b"\r\n")
    assert data.endswith(b"\r\n.\r\n")
    assert lines.index(b".") == len(lines) - 2
