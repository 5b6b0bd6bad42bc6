"""What the notifier writes, byte for byte as keepalived 2.2.7 writes it (pure).

This module owns the external formats that operators' tools already parse:

* notify FIFO lines: ``INSTANCE "VI_1" MASTER 100``, ``GROUP "G1" BACKUP 0``,
  ``VS [10.0.0.1]:tcp:80 UP``, ``RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN``, each
  ended by a newline (keepalived's ``vrrp_notify.c`` and ``check/ipwrapper.c``);
* the argument vector of the generic ``notify`` script: the configured words followed by
  ``INSTANCE|GROUP NAME STATE PRIORITY`` (a group always reports priority 0);
* SMTP alerts: the subject lines (``[router_id] VRRP Instance VI_1 - Entering MASTER
  state``, ``[router_id] Realserver ... of virtual server ... - UP``...), the one-line
  bodies keepalived fixes per event and per checker kind, and the message itself
  (``Date/From/Subject/X-Mailer/To`` headers, CRLF line ends, a blank line before the
  terminating dot, dot-stuffing per RFC 5321 4.5.2).

Services are spelled as keepalived logs them: ``[addr]:proto:port`` for an address
(IPv6 too, no nested brackets), ``FWM n`` for a fwmark service, ``[group]:port`` for a
virtual_server_group. The bus spells them differently (``10.0.0.1:80``,
``[2001:db8::1]:80``, ``fwmark:7``, ``group:G``); :func:`ka_service` translates.
"""

from __future__ import annotations

from datetime import datetime

#: VRRP states that have notifies (INIT has none), in keepalived's spelling
VRRP_NOTIFY_STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED")

#: FIFO-only VRRP events
MASTER_RX_LOWER_PRI = "MASTER_RX_LOWER_PRI"
MASTER_PRIORITY = "MASTER_PRIORITY"
BACKUP_PRIORITY = "BACKUP_PRIORITY"

UNKNOWN_STATE = "{UNKNOWN}"

_FIFO_VRRP_EVENTS = frozenset(VRRP_NOTIFY_STATES) | {
    MASTER_RX_LOWER_PRI,
    MASTER_PRIORITY,
    BACKUP_PRIORITY,
}


# ------------------------------------------------------------------------ FIFO lines


def fifo_vrrp_line(group: bool, name: str, state: str, priority: int) -> str:
    """``INSTANCE "name" STATE prio`` or ``GROUP "name" STATE 0`` with its newline.

    Unknown states are written as keepalived writes them, ``{UNKNOWN}``.
    """
    kind = "GROUP" if group else "INSTANCE"
    word = state if state in _FIFO_VRRP_EVENTS else UNKNOWN_STATE
    return f'{kind} "{name}" {word} {int(priority)}\n'


def fifo_vs_line(vs: str, up: bool) -> str:
    """``VS <vs> UP|DOWN`` (``vs`` in keepalived's spelling, see :func:`ka_service`)."""
    return f"VS {vs} {'UP' if up else 'DOWN'}\n"


def fifo_rs_line(rs: str, vs: str, up: bool) -> str:
    """``RS <rs> <vs> UP|DOWN``."""
    return f"RS {rs} {vs} {'UP' if up else 'DOWN'}\n"


# -------------------------------------------------------------------------- services


def split_bus_service(key: str) -> tuple[str, int | None]:
    """A bus service key ``10.0.0.1:80`` / ``[2001:db8::1]:80`` / bare address → (addr, port).

    Raises ValueError on a malformed key.
    """
    if not key:
        raise ValueError("empty service key")
    if key.startswith("["):
        addr, sep, rest = key[1:].partition("]")
        if not sep or not addr:
            raise ValueError(f"malformed service key {key!r}")
        if not rest:
            return addr, None
        if not rest.startswith(":") or not rest[1:].isdigit():
            raise ValueError(f"malformed service key {key!r}")
        return addr, int(rest[1:])
    if key.count(":") > 1:  # a bare IPv6 address without port
        return key, None
    addr, sep, port = key.partition(":")
    if not sep:
        return addr, None
    if not port.isdigit() or not addr:
        raise ValueError(f"malformed service key {key!r}")
    return addr, int(port)


def ka_address_service(address: str, port: int | None, protocol: str) -> str:
    """keepalived's ``inet_sockaddrtotrio``: ``[10.0.0.1]:tcp:80`` (no port → 0)."""
    return f"[{address}]:{protocol.lower()}:{port or 0}"


def ka_service(key: str, protocol: str) -> str:
    """Translate a bus virtual/real server key to keepalived's spelling.

    ``fwmark:7`` → ``FWM 7``; ``group:G`` → ``[G]:0`` (keepalived prints the group
    name and the unset port of the virtual server); addresses → ``[addr]:proto:port``.
    """
    if key.startswith("fwmark:"):
        mark = key[len("fwmark:") :]
        if not mark.isdigit():
            raise ValueError(f"malformed fwmark key {key!r}")
        return f"FWM {int(mark)}"
    if key.startswith("group:"):
        name = key[len("group:") :]
        if not name:
            raise ValueError(f"malformed group key {key!r}")
        return f"[{name}]:0"
    addr, port = split_bus_service(key)
    return ka_address_service(addr, port, protocol)


# ----------------------------------------------------------------------- script argv


def generic_notify_argv(
    base: tuple[str, ...], group: bool, name: str, state: str, priority: int
) -> tuple[str, ...]:
    """argv of the generic ``notify`` script: ``base + (INSTANCE|GROUP, name, STATE, prio)``."""
    word = state if state in VRRP_NOTIFY_STATES else UNKNOWN_STATE
    return (*base, "GROUP" if group else "INSTANCE", name, word, str(int(priority)))


# ------------------------------------------------------------------------ SMTP texts

_VRRP_SUBJECT = {
    "MASTER": "Entering MASTER state",
    "BACKUP": "Entering BACKUP state",
    "FAULT": "Entering FAULT state",
    "STOP": "Stopping",
    "DELETED": "Deleted",
}

_VRRP_BODY = {
    "MASTER": "=> VRRP Instance is now owning VRRP VIPs <=",
    "BACKUP": "=> VRRP Instance is no longer owning VRRP VIPs <=",
    "FAULT": "=> VRRP Instance is no longer owning VRRP VIPs <=",
    "STOP": "=> VRRP Instance stopping <=",
    "DELETED": "=> VRRP Deleted at reload <=",
}

_GROUP_BODY = {
    "MASTER": "=> All VRRP group instances are now in MASTER state <=",
    "BACKUP": "=> All VRRP group instances are now in BACKUP state <=",
    "FAULT": "=> All VRRP group instances are now in FAULT state <=",
    "STOP": "=> All VRRP group instances are now stopping <=",
}


def vrrp_alert(router_id: str, instance: str, state: str) -> tuple[str, str] | None:
    """(subject, body) of an instance transition alert, None for states without one."""
    if state not in _VRRP_SUBJECT:
        return None
    return f"[{router_id}] VRRP Instance {instance} - {_VRRP_SUBJECT[state]}", _VRRP_BODY[state]


def group_alert(router_id: str, group: str, state: str) -> tuple[str, str] | None:
    """(subject, body) of a sync group transition alert (no DELETED for groups)."""
    if state not in _GROUP_BODY:
        return None
    return f"[{router_id}] VRRP Group {group} - {_VRRP_SUBJECT[state]}", _GROUP_BODY[state]


def rs_subject(router_id: str, rs: str, vs: str, up: bool) -> str:
    """``[rid] Realserver <rs> of virtual server <vs> - UP|DOWN`` (the RS's state)."""
    return f"[{router_id}] Realserver {rs} of virtual server {vs} - {'UP' if up else 'DOWN'}"


def vs_subject(router_id: str, vs: str, up: bool) -> str:
    """``[rid] Virtualserver <vs> - UP|DOWN`` (quorum alerts)."""
    return f"[{router_id}] Virtualserver {vs} - {'UP' if up else 'DOWN'}"


def checker_body(kind: str, up: bool, reason: str = "") -> str | None:
    """The alert body each keepalived checker writes when its verdict changes.

    ``kind`` is the checker block keyword; a ``#n`` suffix (several checkers of one kind
    on a real server) is ignored. FILE_CHECK sends no mail in keepalived: None.
    ``reason`` completes SMTP_CHECK failures and tells MISC_CHECK time-outs apart.
    """
    kind = kind.partition("#")[0]
    if kind == "TCP_CHECK":
        return f"=> TCP CHECK {'succeed' if up else 'failed'} on service <="
    if kind == "UDP_CHECK":
        return f"=> UDP CHECK {'succeed' if up else 'failed'} on service <="
    if kind == "PING_CHECK":
        return f"=> ICMP CHECK {'succeed' if up else 'failed'} on service <="
    if kind == "DNS_CHECK":
        return f"=> DNS_CHECK: {'succeed' if up else 'failed'} on service <="
    if kind in ("HTTP_GET", "SSL_GET"):
        if up:
            return "=> CHECK succeed on service <="
        return "=> CHECK failed on service : HTTP request failed <="
    if kind == "SMTP_CHECK":
        if up:
            return "=> CHECK succeed on service <="
        if reason:
            return f"=> CHECK failed on service : {reason} <="
        return "=> CHECK failed on service <="
    if kind == "MISC_CHECK":
        if up:
            word = "succeeded"
        elif "timed out" in reason:
            word = "timed out"
        else:
            word = "failed"
        return f"=> MISC CHECK {word} on service <="
    if kind == "BFD_CHECK":
        return f"=> BFD CHECK {reason} {'succeeded' if up else 'failed'} on service <="
    return None


def quorum_body(
    up: bool, init: bool, quorum: int, hysteresis: int, threshold: int, weight_sum: int
) -> str:
    """``=> Gained quorum 2+1=3 <= 3 <=`` and its three siblings (keepalived's wording).

    keepalived prints ``quorum+hysteresis=threshold`` even when the threshold it used is
    ``quorum-hysteresis`` (losing quorum); that is kept.
    """
    if up:
        what = "Starting with quorum up" if init else "Gained quorum"
    else:
        what = "Starting with quorum down" if init else "Lost quorum"
    return f"=> {what} {quorum}+{hysteresis}={threshold} <= {weight_sum} <="


SHUTDOWN_BODY = "=> Shutting down <="
REMOVING_BODY = "=> Removing <="


# ------------------------------------------------------------------------ SMTP message


def rfc822_date(when: datetime) -> str:
    """``Mon, 01 Mar 2021 09:44:08 +0000`` (C locale names, as keepalived's strftime)."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f"{days[when.weekday()]}, {when.day:02d} {months[when.month - 1]} {when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} {sign}{minutes // 60:02d}"
        f"{minutes % 60:02d}"
    )


def mail_data(date: str, mail_from: str, subject: str, to: tuple[str, ...], body: str) -> bytes:
    """The DATA part of an alert, terminator included, as keepalived sends it.

    Headers ``Date From Subject X-Mailer To`` in that order, ``To`` joined by ``", "``,
    a blank line, the body, a blank line, ``.``. Lines beginning with a dot are stuffed.
    """
    text = (
        f"Date: {date}\r\nFrom: {mail_from}\r\nSubject: {subject}\r\n"
        f"X-Mailer: Keepalived\r\nTo: {', '.join(to)}\r\n\r\n{body}\r\n"
    )
    lines = text.split("\r\n")
    stuffed = "\r\n".join("." + ln if ln.startswith(".") else ln for ln in lines)
    return (stuffed + "\r\n.\r\n").encode("utf-8", "replace")
