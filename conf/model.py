"""The typed, immutable configuration model: what a parsed keepalived.conf means.

This module owns the shape every actor codes against. It is pure data: frozen, slotted
dataclasses whose fields are only str/int/float/bool/None, tuples, str-valued enums and
other model dataclasses, so ``pickle`` carries a ``Config`` to the children and
``dataclasses.asdict`` (or ``pykeepalived.bus.codec.to_wire``) turns any part into a
msgpack-able map.

Values are *resolved*: keepalived's defaults and its inheritance chains (global_defs →
vrrp_instance, virtual_server → real_server → checker) are applied by the builder, so a
consumer reads ``inst.garp_master_delay`` or ``check.delay_loop`` and gets the value in
force. Times are float seconds everywhere (``advert_int 0.5`` → ``0.5``), except BFD
intervals which keep keepalived's milliseconds (``min_rx_ms``).

Names follow keepalived's keywords (and RFC 5798 where keepalived does), so the model
reads like the configuration it came from. After 07:45 on day one fields only grow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class VrrpState(enum.StrEnum):
    """Initial state wish of a vrrp_instance (`state` keyword)."""

    MASTER = "MASTER"
    BACKUP = "BACKUP"


class Family(enum.StrEnum):
    """Address family, spelled as on the bus (docs/messages.md)."""

    INET = "inet"
    INET6 = "inet6"


class AuthType(enum.StrEnum):
    """VRRPv2 `authentication { auth_type }`."""

    NONE = "NONE"
    PASS = "PASS"
    AH = "AH"


class LvsMethod(enum.StrEnum):
    """IPVS forwarding method (`lvs_method` / `lb_kind`)."""

    NAT = "NAT"
    DR = "DR"
    TUN = "TUN"


class Protocol(enum.StrEnum):
    """virtual_server `protocol`; lower case as on the bus."""

    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


class LbBackend(enum.StrEnum):
    """`pykeepalived { lb_backend }` (docs/ARCHITECTURE.md §7)."""

    AUTO = "auto"
    IPVS = "ipvs"
    NFTABLES = "nftables"
    DRY_RUN = "dry-run"


# --------------------------------------------------------------------------- scripts


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyScript:
    """A script keyword (`notify_*`, `script`, `misc_path`, `quorum_up`, ...).

    ``argv`` is the command string split with keepalived's quote/escape rules, ready for
    ``execve`` without a shell; ``raw`` is the command string as written. ``user``/``group``
    are the optional trailing words (None → global ``script_user``). ``timeout`` is in
    seconds where the keyword has one (e.g. startup_script_timeout), else None.
    """

    argv: tuple[str, ...]
    raw: str = ""
    user: str | None = None
    group: str | None = None
    timeout: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyFifo:
    """`notify_fifo` / `vrrp_notify_fifo` / `lvs_notify_fifo PATH [USER [GROUP]]`."""

    path: str
    user: str | None = None
    group: str | None = None


# ----------------------------------------------------------------- addresses, routes


@dataclass(frozen=True, slots=True, kw_only=True)
class IPAddress:
    """One line of `static_ipaddress`, `virtual_ipaddress[_excluded]` (``ip addr`` syntax).

    ``address`` always carries its prefix (``"10.0.0.1/32"``, ``"fe80::1/64"``).
    ``dev`` None means: the instance's interface (VIP) or global ``default_interface``
    (static; the builder fills it in for static addresses).
    """

    address: str
    family: Family = Family.INET
    dev: str | None = None
    scope: str | None = None
    label: str | None = None
    broadcast: str | None = None
    peer: str | None = None
    home: bool = False
    nodad: bool = False
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    preferred_lft: int | None = None  # None: kernel default; 0 for /128 VIPs in keepalived
    no_track: bool = False
    use_vmac: bool = False
    track_group: str | None = None

    @property
    def ip(self) -> str:
        """The address without its prefix."""
        return self.address.split("/", 1)[0]

    @property
    def prefixlen(self) -> int:
        return int(self.address.split("/", 1)[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class Nexthop:
    """One `nexthop via IP [dev IF] [weight N] [onlink]` of a multipath route."""

    via: str | None = None
    dev: str | None = None
    weight: int | None = None
    onlink: bool = False
    realms: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One line of `static_routes` / `virtual_routes` (``ip route`` syntax).

    ``dest`` is a prefix (``"10.1.0.0/16"``) or ``"default"``. Less common route
    attributes (mtu, advmss, rtt, congctl, encap, ...) are kept as ``(name, value)``
    pairs in ``options`` in the order written.
    """

    dest: str
    family: Family = Family.INET
    type: str = "unicast"
    src: str | None = None
    from_: str | None = None
    via: str | None = None
    dev: str | None = None
    table: str | None = None
    vrf: str | None = None
    protocol: str | None = None
    scope: str | None = None
    metric: int | None = None
    tos: int | None = None
    onlink: bool = False
    realms: str | None = None
    nexthops: tuple[Nexthop, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    no_track: bool = False
    track_group: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One line of `static_rules` / `virtual_rules` (``ip rule`` syntax).

    ``action`` is ``"table"`` (with ``table``), ``"goto"`` (with ``goto``), ``"nop"``,
    ``"blackhole"``, ``"unreachable"``, ``"prohibit"`` or ``"l3mdev"``.
    """

    family: Family = Family.INET
    from_: str | None = None
    to: str | None = None
    not_: bool = False
    action: str = "table"
    table: str | None = None
    goto: int | None = None
    priority: int | None = None
    tos: int | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    realms: str | None = None
    suppress_prefixlength: int | None = None
    suppress_ifgroup: str | None = None
    iif: str | None = None
    oif: str | None = None
    tunnel_id: int | None = None
    uidrange: str | None = None
    protocol: str | None = None
    ipproto: str | None = None
    sport: str | None = None
    dport: str | None = None
    no_track: bool = False
    track_group: str | None = None


# ------------------------------------------------------------------------- trackers


@dataclass(frozen=True, slots=True, kw_only=True)
class VrrpScript:
    """`vrrp_script NAME { script interval timeout weight rise fall user init_fail }`."""

    name: str
    script: NotifyScript
    interval: float = 1.0
    timeout: float = 1.0  # = interval unless given
    weight: int = 0
    reverse: bool = False
    rise: int = 1
    fall: int = 1
    init_fail: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackFile:
    """`track_file NAME { file weight init_file }` (also deprecated `vrrp_track_file`)."""

    name: str
    file: str
    weight: int = 1
    reverse: bool = False
    init_file: bool = False
    init_value: int = 0
    init_overwrite: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackProcess:
    """`vrrp_track_process NAME { process param_match weight quorum ... }`."""

    name: str
    process: str
    params: tuple[str, ...] = ()
    param_match: str = "exact"  # exact | initial | partial
    full_command: bool = False
    weight: int = 0
    reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None
    fork_delay: float = 0.0
    terminate_delay: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackGroup:
    """`track_group NAME { group { VI ... } }`: instances faulted while the interface of a
    tagged static item is down (the VRRP actor, `_track_group_devs`)."""

    name: str
    group: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackRef:
    """An entry of `track_interface/track_script/track_file/track_process/track_bfd`.

    ``weight`` None means: the tracked object's own weight (interfaces: 0 = FAULT).
    """

    name: str
    weight: int | None = None
    reverse: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class UnicastPeer:
    """`unicast_peer { IP [min_ttl N] [max_ttl N] }` entry."""

    address: str
    min_ttl: int | None = None
    max_ttl: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthHmacKey:
    """`auth_hmac { key ID VALUE }`: VALUE as written (``hex:…``, ``file:PATH`` or text)."""

    id: int
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthHmac:
    """`auth_hmac { key active_key anti_replay time_window mode }` (keepalived 2.4)."""

    keys: tuple[AuthHmacKey, ...] = ()
    active_key: int | None = None
    anti_replay: str = "time"
    time_window: int | None = None
    mode: str = "enforce"


@dataclass(frozen=True, slots=True, kw_only=True)
class UseVmac:
    """`use_vmac [[name] IFNAME] [MAC] [netlink_notify_msg] [group G]` resolved.

    ``name`` is the macvlan's name (default ``<vmac_prefix>.<vrid>``), ``mac`` the
    virtual router MAC (default 00:00:5e:00:01:VRID, or :02: for IPv6).
    """

    name: str
    mac: str
    netlink_notify_msg: bool = False
    group: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UseIpvlan:
    """`use_ipvlan [[name] IF] [IP[/len]] [bridge|private|vepa] [group G]`."""

    name: str | None = None
    address: str | None = None
    mode: str = "bridge"
    group: str | None = None


# -------------------------------------------------------------------------- VRRP


@dataclass(frozen=True, slots=True, kw_only=True)
class VrrpInstance:
    """`vrrp_instance NAME { ... }` with global_defs defaults and strict mode applied.

    ``priority`` is resolved (255 for ``state MASTER`` without a priority), ``version``
    and ``family`` too (IPv6 VIPs → version 3, family inet6). ``advert_int`` is float
    seconds. ``unicast`` is true when any unicast keyword was given; ``unicast_peers``
    empty then means keepalived's multicast fall-back (or FAULT with
    ``unicast_fault_no_peer``). ``accept`` is the effective accept mode (strict → False
    unless ``accept`` given; owners always accept). ``file``/``line`` locate the block.
    """

    name: str
    interface: str | None = None
    vrf: str | None = None
    state: VrrpState = VrrpState.BACKUP
    state_configured: bool = False
    virtual_router_id: int = 0
    priority: int = 100
    advert_int: float = 1.0
    version: int = 2
    family: Family = Family.INET
    auth_type: AuthType = AuthType.NONE
    auth_pass: str | None = None
    auth_hmac: AuthHmac | None = None
    virtual_ipaddress: tuple[IPAddress, ...] = ()
    virtual_ipaddress_excluded: tuple[IPAddress, ...] = ()
    virtual_routes: tuple[Route, ...] = ()
    virtual_rules: tuple[Rule, ...] = ()
    no_virtual_ipaddress: bool = False
    track_interface: tuple[TrackRef, ...] = ()
    track_script: tuple[TrackRef, ...] = ()
    track_file: tuple[TrackRef, ...] = ()
    track_process: tuple[TrackRef, ...] = ()
    track_bfd: tuple[TrackRef, ...] = ()
    dont_track_primary: bool = False
    track_src_ip: bool = False
    mcast_src_ip: str | None = None
    mcast_dst_ip: str | None = None  # None: global vrrp_mcast_group4/6
    unicast: bool = False
    unicast_src_ip: str | None = None
    unicast_peers: tuple[UnicastPeer, ...] = ()
    unicast_ttl: int | None = None
    unicast_fault_no_peer: bool = False
    check_unicast_src: bool = False
    old_unicast_checksum: str | None = None
    v3_checksum_as_v2: bool = False
    nopreempt: bool = False
    preempt_delay: float = 0.0
    accept: bool = True
    strict_mode: bool = False
    skip_check_adv_addr: bool = False
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    owner_ignore_adverts: bool = False
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: float = 5.0
    garp_lower_prio_repeat: int = 5
    garp_extra_if: float = 0.0
    garp_extra_if_all: bool = False
    down_timer_adverts: int = 3
    timer_expired_backup: int | None = None
    use_vmac: UseVmac | None = None
    use_vmac_addr: bool = False
    vmac_xmit_base: bool = False
    use_ipvlan: UseIpvlan | None = None
    promote_secondaries: bool = False
    notify_master: NotifyScript | None = None
    notify_backup: NotifyScript | None = None
    notify_fault: NotifyScript | None = None
    notify_stop: NotifyScript | None = None
    notify: NotifyScript | None = None
    notify_deleted: bool = False
    notify_deleted_script: NotifyScript | None = None
    notify_master_rx_lower_pri: NotifyScript | None = None
    notify_priority_changes: bool = False
    smtp_alert: bool = False
    debug: int = 0
    kernel_rx_buf_size: int | None = None
    lvs_sync_daemon_interface: str | None = None
    sync_group: str | None = None
    file: str = ""
    line: int = 0

    @property
    def is_owner(self) -> bool:
        """RFC 5798 IP Address Owner: priority 255."""
        return self.priority == 255


@dataclass(frozen=True, slots=True, kw_only=True)
class VrrpSyncGroup:
    """`vrrp_sync_group NAME { group {...} track_* notify_* smtp_alert ... }`."""

    name: str
    group: tuple[str, ...] = ()
    track_interface: tuple[TrackRef, ...] = ()
    track_script: tuple[TrackRef, ...] = ()
    track_file: tuple[TrackRef, ...] = ()
    track_process: tuple[TrackRef, ...] = ()
    track_bfd: tuple[TrackRef, ...] = ()
    notify_master: NotifyScript | None = None
    notify_backup: NotifyScript | None = None
    notify_fault: NotifyScript | None = None
    notify_stop: NotifyScript | None = None
    notify: NotifyScript | None = None
    smtp_alert: bool = False
    notify_priority_changes: bool = False
    sync_group_tracking_weight: bool = False
    file: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GarpGroup:
    """`garp_group { garp_interval gna_interval interface interfaces {} }`."""

    garp_interval: float = 0.0
    gna_interval: float = 0.0
    interfaces: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkbeatInterface:
    """`linkbeat_interfaces { IFNAME [MII|ETHTOOL|IOCTL] }` entry."""

    name: str
    method: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceUpDownDelay:
    """`interface_up_down_delays { IFNAME DOWN [UP] }` entry (seconds)."""

    interface: str
    down_delay: float = 0.0
    up_delay: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BfdInstance:
    """`bfd_instance NAME { neighbor_ip source_ip min_rx min_tx ... }` (intervals in ms)."""

    name: str
    neighbor_ip: str
    source_ip: str | None = None
    min_rx_ms: float = 10.0
    min_tx_ms: float = 10.0
    idle_tx_ms: float = 1000.0
    multiplier: int = 5
    passive: bool = False
    ttl: int | None = None  # None: 255 for IPv4, 64 for IPv6
    max_hops: int = 0
    multihop: bool = False
    weight: int = 0
    reverse: bool = False
    vrrp: bool = True
    checker: bool = True


# --------------------------------------------------------------------------- LVS


@dataclass(frozen=True, slots=True, kw_only=True)
class Tunnel:
    """`lvs_method TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`."""

    type: str = "ipip"
    port: int | None = None
    checksum: str = "nocsum"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckerBase:
    """Options common to checkers, resolved: checker → real_server → virtual_server → default.

    ``kind`` is the block keyword (``"TCP_CHECK"``...). ``connect_ip``/``connect_port``
    are resolved to the real server's address/port when not given.
    """

    kind: str = ""
    connect_ip: str | None = None
    connect_port: int | None = None
    bindto: str | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    connect_timeout: float = 5.0
    fwmark: int | None = None
    retry: int = 1
    delay_before_retry: float = 1.0
    warmup: float = 60.0
    delay_loop: float = 60.0
    alpha: bool = False
    log_all_failures: bool = False
    file: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpCheck(CheckerBase):
    """`TCP_CHECK { }`: a connect that succeeds means up."""

    kind: str = "TCP_CHECK"


@dataclass(frozen=True, slots=True, kw_only=True)
class Url:
    """`url { path digest status_code virtualhost regex ... }` of HTTP_GET/SSL_GET.

    ``status_codes`` are inclusive ``(low, high)`` ranges; default ``((200, 299),)``.
    """

    path: str
    digest: str | None = None
    status_codes: tuple[tuple[int, int], ...] = ((200, 299),)
    virtualhost: str | None = None
    regex: str | None = None
    regex_no_match: bool = False
    regex_options: tuple[str, ...] = ()
    regex_stack: tuple[int, int] | None = None
    regex_min_offset: int = 0
    regex_max_offset: int | None = None
    tls_compliant: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpGetCheck(CheckerBase):
    """`HTTP_GET { url {...} http_protocol virtualhost fast_recovery ... }`."""

    kind: str = "HTTP_GET"
    retry: int = 1
    delay_before_retry: float = 3.0
    urls: tuple[Url, ...] = ()
    http_protocol: str = "1.0"
    virtualhost: str | None = None
    fast_recovery: bool = False
    enable_sni: bool = False
    sni_name: str | None = None
    tls_compliant: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SslGetCheck(HttpGetCheck):
    """`SSL_GET { ... }`: HTTP_GET over TLS (context from the root `SSL` block)."""

    kind: str = "SSL_GET"


@dataclass(frozen=True, slots=True, kw_only=True)
class MiscCheck(CheckerBase):
    """`MISC_CHECK { misc_path misc_timeout misc_dynamic user }`.

    ``misc_timeout`` None means the delay_loop. Exit 0 up, 1 down; with ``misc_dynamic``
    2..255 is up with weight = status - 2.
    """

    kind: str = "MISC_CHECK"
    retry: int = 0
    misc_path: NotifyScript | None = None
    misc_timeout: float | None = None
    misc_dynamic: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpCheck(CheckerBase):
    """`SMTP_CHECK { helo_name }`; each deprecated `host { }` becomes another SmtpCheck."""

    kind: str = "SMTP_CHECK"
    helo_name: str = "smtpchecker.keepalived.org"


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsCheck(CheckerBase):
    """`DNS_CHECK { type name }`: a UDP query; default retry 3, delay_before_retry = delay_loop."""

    kind: str = "DNS_CHECK"
    retry: int = 3
    type: str = "SOA"
    name: str = "."


@dataclass(frozen=True, slots=True, kw_only=True)
class UdpCheck(CheckerBase):
    """`UDP_CHECK { payload require_reply min_reply_length max_reply_length }`.

    ``payload`` is lower-case hex (None → random bytes); ``require_reply`` is a hex
    pattern in which ``x`` nibbles match anything (None → no reply needed; ``""`` → any).
    """

    kind: str = "UDP_CHECK"
    payload: str | None = None
    require_reply: str | None = None
    min_reply_length: int = 0
    max_reply_length: int = 255


@dataclass(frozen=True, slots=True, kw_only=True)
class PingCheck(CheckerBase):
    """`PING_CHECK { }`: ICMP/ICMPv6 echo."""

    kind: str = "PING_CHECK"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileCheck(CheckerBase):
    """`FILE_CHECK { track_file weight [reverse] }`."""

    kind: str = "FILE_CHECK"
    track_file: str = ""
    weight: int | None = None
    reverse: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BfdCheck(CheckerBase):
    """`BFD_CHECK { name alpha }`: real server down while that bfd_instance is down."""

    kind: str = "BFD_CHECK"
    name: str = ""


Checker = (
    TcpCheck
    | HttpGetCheck
    | SslGetCheck
    | MiscCheck
    | SmtpCheck
    | DnsCheck
    | UdpCheck
    | PingCheck
    | FileCheck
    | BfdCheck
)


def service_key(address: str | None, port: int | None) -> str:
    """Bus spelling of an address with optional port: ``10.0.0.1:80``, ``[2001:db8::1]:80``."""
    if address is None:
        return ""
    host = f"[{address}]" if ":" in address and port is not None else address
    return f"{host}:{port}" if port is not None else host


@dataclass(frozen=True, slots=True, kw_only=True)
class RealServer:
    """`real_server IP [PORT] { weight notify_up ... CHECKERS }` with VS values inherited.

    ``port`` None means no port (fwmark services); ``checkers`` empty means always up.
    """

    address: str
    port: int | None = None
    family: Family = Family.INET
    weight: int = 1
    lvs_method: LvsMethod = LvsMethod.NAT
    tunnel: Tunnel | None = None
    notify_up: NotifyScript | None = None
    notify_down: NotifyScript | None = None
    uthreshold: int = 0
    lthreshold: int = 0
    inhibit_on_failure: bool = False
    alpha: bool = False
    smtp_alert: bool = True
    virtualhost: str | None = None
    snmp_name: str | None = None
    checkers: tuple[Checker, ...] = ()
    file: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """Bus spelling: ``"10.0.0.2:80"``."""
        return service_key(self.address, self.port)


@dataclass(frozen=True, slots=True, kw_only=True)
class SorryServer:
    """`sorry_server IP [PORT]` with `sorry_server_inhibit` / `sorry_server_lvs_method`."""

    address: str
    port: int | None = None
    lvs_method: LvsMethod = LvsMethod.NAT
    tunnel: Tunnel | None = None
    inhibit: bool = False

    @property
    def key(self) -> str:
        return service_key(self.address, self.port)


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualServer:
    """`virtual_server IP [PORT] | fwmark N | group NAME { ... real_server ... }`.

    Exactly one of ``address``, ``fwmark``, ``group`` is set. ``persistence_timeout``
    None means not persistent.
    """

    address: str | None = None
    port: int | None = None
    fwmark: int | None = None
    group: str | None = None
    family: Family = Family.INET
    protocol: Protocol = Protocol.TCP
    lvs_sched: str = "wlc"
    lvs_method: LvsMethod = LvsMethod.NAT
    tunnel: Tunnel | None = None
    persistence_timeout: int | None = None
    persistence_granularity: str | None = None
    persistence_engine: str | None = None
    ops: bool = False
    sched_flags: tuple[str, ...] = ()  # flag-1..3, sh-port, sh-fallback, mh-port, mh-fallback
    ip_family: Family | None = None
    ha_suspend: bool = False
    alpha: bool = False
    omega: bool = False
    quorum: int = 1
    hysteresis: int = 0
    quorum_up: NotifyScript | None = None
    quorum_down: NotifyScript | None = None
    sorry_server: SorryServer | None = None
    inhibit_on_failure: bool = False
    weight: int = 1
    delay_loop: float = 60.0
    connect_timeout: float = 5.0
    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    smtp_alert: bool = False
    virtualhost: str | None = None
    snmp_name: str | None = None
    real_servers: tuple[RealServer, ...] = ()
    file: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """Bus spelling: ``"10.0.0.1:80"``, ``"[2001:db8::1]:80"``, ``"fwmark:7"``, ``"group:G"``.

        IPv6 without a port stays bare (``"2001:db8::1"``).
        """
        if self.fwmark is not None:
            return f"fwmark:{self.fwmark}"
        if self.group is not None:
            return f"group:{self.group}"
        return service_key(self.address, self.port)


@dataclass(frozen=True, slots=True, kw_only=True)
class VsgRange:
    """A virtual_server_group address entry: single IP (``start == end``), range or subnet.

    ``start``/``end`` are plain addresses (inclusive); ``port`` None → no port.
    """

    start: str
    end: str
    port: int | None = None
    family: Family = Family.INET


@dataclass(frozen=True, slots=True, kw_only=True)
class VsgFwmark:
    """A virtual_server_group `fwmark N [inet|inet6]` entry."""

    fwmark: int
    family: Family | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualServerGroup:
    """`virtual_server_group NAME { IP [PORT] | A.B.C.D-E [PORT] | IP/LEN [PORT] | fwmark N }`."""

    name: str
    addresses: tuple[VsgRange, ...] = ()
    fwmarks: tuple[VsgFwmark, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SslContext:
    """Root `SSL { password ca certificate key }` for SSL_GET."""

    password: str | None = None
    ca: str | None = None
    certificate: str | None = None
    key: str | None = None


# -------------------------------------------------------------------- global_defs


@dataclass(frozen=True, slots=True, kw_only=True)
class LvsSyncDaemon:
    """global `lvs_sync_daemon IFNAME [inst] VI [id N] [maxlen N] [port N] [ttl N] [group IP]`."""

    interface: str
    instance: str | None = None
    id: int | None = None
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalDefs:
    """`global_defs { ... }`: process, mail, FIFO, VRRP-default, firewall, LVS settings."""

    # process naming / scheduling / scripts
    process_names: bool = False
    process_name: str | None = None
    vrrp_process_name: str | None = None
    checker_process_name: str | None = None
    bfd_process_name: str | None = None
    use_symlink_paths: bool = False
    set_supplementary_groups: bool = False
    script_user: str | None = None
    script_group: str | None = None
    enable_script_security: bool = False
    startup_script: NotifyScript | None = None
    startup_script_timeout: float = 10.0
    shutdown_script: NotifyScript | None = None
    shutdown_script_timeout: float = 10.0
    max_auto_priority: int = 0
    min_auto_priority_delay: int = 1000000
    vrrp_priority: int = 0
    checker_priority: int = 0
    bfd_priority: int = 0
    vrrp_no_swap: bool = False
    checker_no_swap: bool = False
    bfd_no_swap: bool = False
    vrrp_rt_priority: int | None = None
    checker_rt_priority: int | None = None
    bfd_rt_priority: int | None = None
    vrrp_cpu_affinity: tuple[int, ...] = ()
    checker_cpu_affinity: tuple[int, ...] = ()
    bfd_cpu_affinity: tuple[int, ...] = ()
    vrrp_rlimit_rttime: int = 10000
    checker_rlimit_rttime: int = 10000
    bfd_rlimit_rttime: int = 10000
    umask: int | None = None
    random_seed: int | None = None
    # mail / notification
    router_id: str | None = None
    notification_email: tuple[str, ...] = ()
    notification_email_from: str | None = None
    smtp_server: str | None = None
    smtp_port: int = 25
    smtp_helo_name: str | None = None
    smtp_connect_timeout: float = 30.0
    smtp_alert: bool | None = None
    smtp_alert_vrrp: bool | None = None
    smtp_alert_checker: bool | None = None
    no_email_faults: bool = False
    checker_log_all_failures: bool = False
    no_checker_emails: bool = False
    rs_init_notifies: bool = False
    notify_fifo: NotifyFifo | None = None
    notify_fifo_script: NotifyScript | None = None
    vrrp_notify_fifo: NotifyFifo | None = None
    vrrp_notify_fifo_script: NotifyScript | None = None
    lvs_notify_fifo: NotifyFifo | None = None
    lvs_notify_fifo_script: NotifyScript | None = None
    vrrp_notify_priority_changes: bool = False
    fifo_write_vrrp_states_on_reload: bool = False
    # VRRP defaults
    vrrp_version: int = 2
    vrrp_mcast_group4: str = "224.0.0.18"
    vrrp_mcast_group6: str = "ff02::12"
    default_interface: str = "eth0"
    vrrp_garp_master_delay: float = 5.0
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh: float = 0.0
    vrrp_garp_master_refresh_repeat: int = 1
    vrrp_garp_lower_prio_delay: float | None = None
    vrrp_garp_lower_prio_repeat: int | None = None
    vrrp_garp_interval: float = 0.0
    vrrp_gna_interval: float = 0.0
    vrrp_min_garp: bool = False
    vrrp_garp_extra_if: float = 0.0
    vrrp_garp_extra_if_all: bool = False
    vrrp_down_timer_adverts: int = 3
    vrrp_lower_prio_no_advert: bool | None = None
    vrrp_higher_prio_send_advert: bool | None = None
    v3_checksum_as_v2: bool = False
    vrrp_check_unicast_src: bool = False
    vrrp_skip_check_adv_addr: bool = False
    vrrp_strict: bool = False
    vrrp_owner_ignore_adverts: bool | None = None
    vrrp_startup_delay: float = 0.0
    vrrp_delay_after_boot: float = 0.0
    dynamic_interfaces: bool = False
    dynamic_interfaces_allow_if_changes: bool = False
    disable_local_igmp: bool = False
    log_unknown_vrids: bool = False
    vmac_prefix: str = "vrrp"
    vmac_addr_prefix: str | None = None
    vrrp_rx_bufs_policy: str | None = None
    vrrp_rx_bufs_multiplier: int = 3
    vrrp_netlink_cmd_rcv_bufs: int | None = None
    vrrp_netlink_cmd_rcv_bufs_force: bool = False
    vrrp_netlink_monitor_rcv_bufs: int | None = None
    vrrp_netlink_monitor_rcv_bufs_force: bool = False
    process_monitor_rcv_bufs: int | None = None
    process_monitor_rcv_bufs_force: bool = False
    iproute_usr_dir: str | None = None
    iproute_etc_dir: str | None = None
    # firewall
    vrrp_iptables: tuple[str, ...] | None = None
    vrrp_ipsets: tuple[str, ...] | None = None
    nftables: str | None = None
    nftables_priority: int = -1
    nftables_ifindex: bool = False
    nftables_counters: bool = False
    nftables_ipvs: str | None = None
    nftables_ipvs_priority: int = -1
    nftables_ipvs_start_fwmark: int = 1000
    # LVS
    lvs_timeouts_tcp: int | None = None
    lvs_timeouts_tcpfin: int | None = None
    lvs_timeouts_udp: int | None = None
    lvs_flush: bool = False
    lvs_flush_on_stop: str | None = None  # None | "all" | "VS"
    lvs_sync_daemon: LvsSyncDaemon | None = None
    lvs_netlink_cmd_rcv_bufs: int | None = None
    lvs_netlink_cmd_rcv_bufs_force: bool = False
    lvs_netlink_monitor_rcv_bufs: int | None = None
    lvs_netlink_monitor_rcv_bufs_force: bool = False
    # SNMP / D-Bus / JSON
    snmp_socket: str | None = None
    enable_traps: bool = False
    enable_snmp_vrrp: bool = False
    enable_snmp_checker: bool = False
    enable_snmp_rfc: bool = False
    enable_snmp_rfcv2: bool = False
    enable_snmp_rfcv3: bool = False
    snmp_vs_stats_update_interval: float = 5.0
    snmp_rs_stats_update_interval: float = 0.0
    enable_dbus: bool = False
    dbus_service_name: str = "org.keepalived.Vrrp1"
    dbus_no_interface_name: str = "none"
    json_version: int = 1
    # housekeeping
    tmp_config_directory: str | None = None
    config_save_dir: str | None = None
    include_check: tuple[str, ...] = ()
    reload_check_config: str | None = None
    reload_time_file: str | None = None
    reload_repeat: bool = False
    reload_file: str | None = None
    data_use_instance: bool = False
    state_dump_file: str | None = None
    stats_dump_file: str | None = None
    json_dump_file: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PyKeepalivedSettings:
    """The `pykeepalived { lb_backend event_tap metrics watchdog_interval }` block
    (docs/ARCHITECTURE.md §7)."""

    lb_backend: LbBackend = LbBackend.AUTO
    event_tap: str | None = None
    metrics: str | None = None
    watchdog_interval: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """A whole validated keepalived.conf (plus the pykeepalived block).

    Root process options (`net_namespace`, `instance`, ...) sit beside the blocks.
    ``config_id`` is the `-i` value used for `@id` lines; ``files`` lists every file read.
    """

    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    pykeepalived: PyKeepalivedSettings = field(default_factory=PyKeepalivedSettings)
    net_namespace: str | None = None
    net_namespace_ipvs: str | None = None
    namespace_with_ipsets: bool = False
    use_pid_dir: bool = False
    instance: str | None = None
    child_wait_time: int = 5
    linkbeat_use_polling: bool = False
    static_ipaddress: tuple[IPAddress, ...] = ()
    static_routes: tuple[Route, ...] = ()
    static_rules: tuple[Rule, ...] = ()
    track_groups: tuple[TrackGroup, ...] = ()
    vrrp_scripts: tuple[VrrpScript, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    track_processes: tuple[TrackProcess, ...] = ()
    vrrp_sync_groups: tuple[VrrpSyncGroup, ...] = ()
    garp_groups: tuple[GarpGroup, ...] = ()
    linkbeat_interfaces: tuple[LinkbeatInterface, ...] = ()
    interface_up_down_delays: tuple[InterfaceUpDownDelay, ...] = ()
    vrrp_instances: tuple[VrrpInstance, ...] = ()
    bfd_instances: tuple[BfdInstance, ...] = ()
    ssl: SslContext | None = None
    virtual_server_groups: tuple[VirtualServerGroup, ...] = ()
    virtual_servers: tuple[VirtualServer, ...] = ()
    config_id: str = ""
    files: tuple[str, ...] = ()

    def vrrp_instance(self, name: str) -> VrrpInstance | None:
        """The vrrp_instance called ``name``, if any."""
        for inst in self.vrrp_instances:
            if inst.name == name:
                return inst
        return None

    def vrrp_script(self, name: str) -> VrrpScript | None:
        for s in self.vrrp_scripts:
            if s.name == name:
                return s
        return None

    def virtual_server(self, key: str) -> VirtualServer | None:
        """The virtual_server whose bus key (``VirtualServer.key``) is ``key``."""
        for vs in self.virtual_servers:
            if vs.key == key:
                return vs
        return None
