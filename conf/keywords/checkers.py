"""Checker blocks inside ``real_server``: TCP_CHECK, HTTP_GET (+ ``url``), SSL_GET,
MISC_CHECK, SMTP_CHECK (+ deprecated ``host``), DNS_CHECK, UDP_CHECK, PING_CHECK,
FILE_CHECK, BFD_CHECK, with the options common to checkers.

Checker drafts are resolved into models by :func:`build_checkers` once the virtual and
real server values they inherit from are known (checker → real_server → virtual_server
→ checker-type default)."""

from __future__ import annotations

import re
from typing import Any

from pykeepalived.conf import values as V
from pykeepalived.conf.keywords import common as C
from pykeepalived.conf.model import (
    BfdCheck,
    Checker,
    DnsCheck,
    FileCheck,
    HttpGetCheck,
    MiscCheck,
    PingCheck,
    SmtpCheck,
    SslGetCheck,
    TcpCheck,
    UdpCheck,
    Url,
)
from pykeepalived.conf.preprocess import Stmt
from pykeepalived.conf.registry import BlockDef, Ctx, Draft

TIMER_MAX = 4294.967295


def _ip(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        a = V.ip_address(ctx, w, f"{st.words[0]} address")
        if a is not None:
            d[field] = a

    return h


def _timer(field: str, lo: float = 0.0) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        v = V.decimal(ctx, w, lo, TIMER_MAX)
        if v is None:
            ctx.error(f"{st.words[0]} '{w}' invalid - ignoring", "invalid-value", st)
            return
        d[field] = v

    return h


def connection_options(b: BlockDef) -> None:
    b.scalar("connect_ip", _ip("connect_ip"))
    b.scalar("connect_port", C.uint("connect_port", 1, 65535))
    b.scalar("bindto", _ip("bindto"))
    b.scalar("bind_port", C.uint("bind_port", 1, 65535))
    b.scalar("bind_if", C.string("bind_if"))
    b.scalar("connect_timeout", _timer("connect_timeout", 0.000001))
    b.scalar("fwmark", C.uint("fwmark"))


def scheduling_options(b: BlockDef) -> None:
    b.scalar("retry", C.uint("retry", 0, V.UINT_MAX))
    b.scalar("delay_before_retry", _timer("delay_before_retry"))
    b.scalar("warmup", _timer("warmup"))
    b.scalar("delay_loop", _timer("delay_loop", 0.000001))
    b.scalar("alpha", C.boolean("alpha"))
    b.scalar("log_all_failures", C.boolean("log_all_failures"))


# ---------------------------------------------------------------- blocks

TCP = BlockDef("TCP_CHECK")
HTTP = BlockDef("HTTP_GET")
SSL = BlockDef("SSL_GET")
URL = BlockDef("url")
SSL_URL = BlockDef("url")
MISC = BlockDef("MISC_CHECK")
SMTP = BlockDef("SMTP_CHECK")
SMTP_HOST = BlockDef("host")
DNS = BlockDef("DNS_CHECK")
UDP = BlockDef("UDP_CHECK")
PING = BlockDef("PING_CHECK")
FILE = BlockDef("FILE_CHECK")
BFDC = BlockDef("BFD_CHECK")

for _b in (TCP, HTTP, SSL, SMTP, DNS, UDP, PING):
    connection_options(_b)
    scheduling_options(_b)
scheduling_options(MISC)
connection_options(SMTP_HOST)
BFDC.scalar("alpha", C.boolean("alpha"))


# ---- url


def _status_code(ctx: Ctx, d: Draft, st: Stmt) -> None:
    codes: list[tuple[int, int]] = d.setdefault("_status", [])
    for w in st.words[1:]:
        lo_s, sep, hi_s = w.partition("-")
        lo = V.uint(ctx, lo_s, 100, 599)
        hi = V.uint(ctx, hi_s, 100, 599) if sep else lo
        if lo is None or hi is None:
            ctx.error(f"Invalid HTTP_GET status code '{w}' - ignoring", "invalid-value", st)
            continue
        if hi < lo:
            ctx.error(f"Invalid HTTP_GET status code range '{w}' - ignoring", "invalid-value", st)
            continue
        codes.append((lo, hi))


def _digest(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if not re.fullmatch(r"[0-9a-fA-F]{32}", w):
        ctx.error(f"digest '{w}' is not 32 hex characters - ignoring", "invalid-value", st)
        return
    d["digest"] = w.lower()


def _regex(ctx: Ctx, d: Draft, st: Stmt) -> None:
    words = V.split_quoted(st.text)
    if len(words) < 2:
        ctx.error("regex requires a pattern", "missing-parameter", st)
        return
    pat, err = V.split_escaped(words[1])
    if err is not None:
        ctx.error(f"regex: {err}", "invalid-value", st)
        return
    text = " ".join(pat)
    try:
        re.compile(text)
    except re.error as exc:
        # keepalived compiles the PCRE2 pattern later (its -t says nothing): advice here
        ctx.warning(f"regex '{text}' does not compile: {exc}", "lint", st)
        return
    d["regex"] = text


_REGEX_OPTIONS = set(
    [
        "allow_empty_class",
        "alt_bsux",
        "auto_callout",
        "caseless",
        "dollar_endonly",
        "dotall",
        "dupnames",
        "extended",
        "firstline",
        "match_unset_backref",
        "multiline",
        "never_ucp",
        "never_utf",
        "no_auto_capture",
        "no_auto_possess",
        "no_dotstar_anchor",
        "no_start_optimize",
        "ucp",
        "ungreedy",
        "utf",
        "never_backslash_c",
        "alt_circumflex",
        "alt_verbnames",
        "use_offset_limit",
    ]
)


def _regex_options(ctx: Ctx, d: Draft, st: Stmt) -> None:
    opts = []
    for w in st.words[1:]:
        if w not in _REGEX_OPTIONS:
            ctx.error(f"Unknown regex option '{w}' - ignoring", "invalid-value", st)
            continue
        opts.append(w)
    d["regex_options"] = tuple(opts)


def _regex_stack(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) < 3:
        ctx.error("regex_stack requires START MAX", "missing-parameter", st)
        return
    a = V.uint(ctx, st.words[1])
    b = V.uint(ctx, st.words[2])
    if a is not None and b is not None:
        d["regex_stack"] = (a, b)


for _u in (URL, SSL_URL):
    _u.scalar("path", C.string("path"))
    _u.scalar("digest", _digest)
    _u.scalar("status_code", _status_code)
    _u.scalar("virtualhost", C.string("virtualhost"))
    _u.scalar("regex", _regex)
    _u.scalar("regex_no_match", C.flag("regex_no_match"))
    _u.scalar("regex_options", _regex_options)
    _u.scalar("regex_stack", _regex_stack)
    _u.scalar("regex_min_offset", C.uint("regex_min_offset"))
    _u.scalar("regex_max_offset", C.uint("regex_max_offset"))
SSL_URL.scalar("tls_compliant", C.boolean("tls_compliant"))


def _open_url(ctx: Ctx, d: Draft, st: Stmt) -> Draft | None:
    C.extra(ctx, st, 0)
    return {"_stmt": st}


def _close_url(ctx: Ctx, u: Draft, d: Draft) -> None:
    if "path" not in u:
        ctx.error("HTTP/SSL_GET checker url has no path - ignoring", "missing")
        return
    codes = u.get("_status")
    d.setdefault("_urls", []).append(
        Url(
            path=u["path"],
            digest=u.get("digest"),
            status_codes=tuple(codes) if codes else ((200, 299),),
            virtualhost=u.get("virtualhost"),
            regex=u.get("regex"),
            regex_no_match=u.get("regex_no_match", False),
            regex_options=u.get("regex_options", ()),
            regex_stack=u.get("regex_stack"),
            regex_min_offset=u.get("regex_min_offset", 0),
            regex_max_offset=u.get("regex_max_offset"),
            tls_compliant=u.get("tls_compliant"),
        )
    )


def _http_protocol(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w not in ("1.0", "1.0C", "1.0c", "1.1"):
        ctx.error(f"Invalid http_protocol '{w}' - ignoring", "invalid-value", st)
        return
    d["http_protocol"] = "1.0C" if w == "1.0c" else w


def _sni_name(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d["enable_sni"] = True
    if len(st.words) > 1:
        d["sni_name"] = st.words[1]


for _b in (HTTP, SSL):
    _b.sub("url", URL if _b is HTTP else SSL_URL, _open_url, _close_url)
    _b.scalar("http_protocol", _http_protocol)
    _b.scalar("virtualhost", C.string("virtualhost"))
    _b.scalar(
        "fast_recovery",
        C.boolean("fast_recovery"),
        unimplemented="the URLs of a recovering server are checked at the normal pace",
    )
    _b.scalar("enable_sni", C.boolean("enable_sni"))
    _b.scalar("sni_name", _sni_name)
    _b.scalar(
        "nb_get_retry",
        C.uint("retry", 0, V.UINT_MAX),
        deprecated="nb_get_retry is deprecated - please use 'retry'",
        reported=True,
    )
SSL.scalar("tls_compliant", C.boolean("tls_compliant"))


# ---- MISC_CHECK


MISC.scalar("misc_path", C.script_field("misc_path"))
MISC.scalar("misc_timeout", C.uint("misc_timeout", 1))
MISC.scalar("misc_dynamic", C.flag("misc_dynamic"))
MISC.scalar("user", C.script_user)


# ---- SMTP_CHECK


def _helo(ctx: Ctx, d: Draft, st: Stmt) -> None:
    words = V.split_quoted(st.text)
    if len(words) < 2:
        ctx.error("helo_name requires a name", "missing-parameter", st)
        return
    d["helo_name"] = words[1]


def _open_host(ctx: Ctx, d: Draft, st: Stmt) -> Draft | None:
    return {"_stmt": st}


def _close_host(ctx: Ctx, h: Draft, d: Draft) -> None:
    d.setdefault("_hosts", []).append(h)


SMTP.scalar("helo_name", _helo)
SMTP.sub(
    "host",
    SMTP_HOST,
    _open_host,
    _close_host,
    deprecated="The SMTP_CHECK host block is deprecated. Please define additional checkers.",
)


# ---- DNS / UDP / FILE / BFD

_DNS_TYPES = {"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"}


def _dns_type(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w.upper() not in _DNS_TYPES:
        ctx.error(f"Unknown DNS check type {w} - defaulting to SOA", "invalid-value", st)
        return
    d["type"] = w.upper()


def _dns_name(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    labels = w.rstrip(".").split(".") if w != "." else []
    if any(not lab or len(lab) > 63 for lab in labels) or len(w) > 253:
        ctx.error(f"Invalid DNS name '{w}'", "invalid-value", st)
        return
    d["name"] = w


DNS.scalar("type", _dns_type)
DNS.scalar("name", _dns_name)


def _hex(ctx: Ctx, words: list[str], st: Stmt, wild: bool) -> str | None:
    text = "".join(words).lower()
    allowed = "0123456789abcdef" + ("x" if wild else "")
    if any(c not in allowed for c in text) or len(text) % 2:
        # keepalived 2.2.7's own hex reader is lenient in ways that are hard to pin down
        # (it takes 'abc', refuses '00ff'): this is advice, and the value is not used
        ctx.warning(f"Invalid hex string '{' '.join(words)}' - ignoring", "lint", st)
        return None
    return text


def _payload(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) < 2:
        ctx.error("payload requires a hex string", "missing-parameter", st)
        return
    v = _hex(ctx, st.words[1:], st, False)
    if v is not None:
        d["payload"] = v


def _require_reply(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) < 2:
        d["require_reply"] = ""
        return
    v = _hex(ctx, st.words[1:], st, True)
    if v is not None:
        d["require_reply"] = v


UDP.scalar("payload", _payload)
UDP.scalar("require_reply", _require_reply)
UDP.scalar("min_reply_length", C.uint("min_reply_length", 0, 65535))
UDP.scalar("max_reply_length", C.uint("max_reply_length", 0, 65535))


def _file_track(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w not in ctx.shared.get("track_files", {}):
        ctx.error(f"track_file {w} not found", "reference", st)
        return
    d["track_file"] = w


def _file_weight(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    v = V.integer(ctx, w, -V.INT_MAX, V.INT_MAX)
    if v is not None:
        d["weight"] = v
    if len(st.words) > 2:
        if st.words[2] in ("reverse", "noreverse"):
            d["reverse"] = st.words[2] == "reverse"
        else:
            ctx.error(f"Unknown FILE_CHECK weight option '{st.words[2]}'", "invalid-value", st)


FILE.scalar("track_file", _file_track)
FILE.scalar("weight", _file_weight)


def _bfd_name(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w not in ctx.shared.get("bfd", {}):
        ctx.error(f"BFD_CHECK - bfd_instance {w} not found", "reference", st)
        return
    d["name"] = w


BFDC.scalar("name", _bfd_name)


# ---------------------------------------------------------------- registration

KINDS: dict[str, tuple[BlockDef, type]] = {
    "TCP_CHECK": (TCP, TcpCheck),
    "HTTP_GET": (HTTP, HttpGetCheck),
    "SSL_GET": (SSL, SslGetCheck),
    "MISC_CHECK": (MISC, MiscCheck),
    "SMTP_CHECK": (SMTP, SmtpCheck),
    "DNS_CHECK": (DNS, DnsCheck),
    "UDP_CHECK": (UDP, UdpCheck),
    "PING_CHECK": (PING, PingCheck),
    "FILE_CHECK": (FILE, FileCheck),
    "BFD_CHECK": (BFDC, BfdCheck),
}


def _opener(kind: str) -> Any:
    def o(ctx: Ctx, rs: Draft, st: Stmt) -> Draft | None:
        C.extra(ctx, st, 0)
        return {"_kind": kind, "_stmt": st}

    return o


def _close_checker(ctx: Ctx, c: Draft, rs: Draft) -> None:
    c["_close"] = ctx.stmt  # the '}': where keepalived reports checker-level problems
    rs.setdefault("_checkers", []).append(c)


def register_real_server(rs: BlockDef) -> None:
    for kind, (block, _) in KINDS.items():
        rs.sub(
            kind,
            block,
            _opener(kind),
            _close_checker,
            unimplemented="BFD sessions (no BFD actor): the checker stays up"
            if kind == "BFD_CHECK"
            else None,
        )


# ---------------------------------------------------------------- resolution

_DEFAULT_RETRY = {"MISC_CHECK": 0, "DNS_CHECK": 3}
_DEFAULT_DBR = {"HTTP_GET": 3.0, "SSL_GET": 3.0}
_COMMON = (
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "fwmark",
    "log_all_failures",
)


def build_checkers(
    ctx: Ctx, drafts: list[Draft], rs: dict[str, Any], log_all: bool
) -> list[Checker]:
    """Checker models for one real server; ``rs`` holds the inherited values already
    resolved through the virtual server (delay_loop, connect_timeout, retry, ...)."""
    out: list[Checker] = []
    for c in drafts:
        kind = c["_kind"]
        st: Stmt = c["_stmt"]
        _, cls = KINDS[kind]
        delay_loop = c.get("delay_loop", rs["delay_loop"])
        fields: dict[str, Any] = {
            "connect_ip": rs["address"],
            "connect_port": rs["port"],
            "connect_timeout": c.get("connect_timeout", rs["connect_timeout"]),
            "retry": c.get(
                "retry", rs["retry"] if rs["retry"] is not None else _DEFAULT_RETRY.get(kind, 1)
            ),
            "delay_before_retry": c.get(
                "delay_before_retry",
                rs["delay_before_retry"]
                if rs["delay_before_retry"] is not None
                else (delay_loop if kind == "DNS_CHECK" else _DEFAULT_DBR.get(kind, 1.0)),
            ),
            "warmup": c.get("warmup", rs["warmup"] if rs["warmup"] is not None else delay_loop),
            "delay_loop": delay_loop,
            "alpha": c.get("alpha", rs["alpha"]),
            "log_all_failures": c.get("log_all_failures", log_all),
            "file": st.file,
            "line": st.line,
        }
        for k in _COMMON:
            if k in c:
                fields[k] = c[k]
        if kind in ("MISC_CHECK", "FILE_CHECK", "BFD_CHECK"):
            fields["connect_ip"] = None
            fields["connect_port"] = None
        if kind == "PING_CHECK" and "connect_port" not in c:
            fields["connect_port"] = None
        if kind in ("HTTP_GET", "SSL_GET"):
            urls = c.get("_urls", [])
            if not urls:
                ctx.error(
                    "HTTP/SSL_GET checker has no urls specified - ignoring",
                    "missing",
                    c.get("_close", st),
                )
                continue
            fields.update(
                urls=tuple(urls),
                http_protocol=c.get("http_protocol", "1.0"),
                virtualhost=c.get("virtualhost", rs["virtualhost"]),
                fast_recovery=c.get("fast_recovery", False),
                enable_sni=c.get("enable_sni", False),
                sni_name=c.get("sni_name"),
                tls_compliant=c.get("tls_compliant", False),
            )
        elif kind == "MISC_CHECK":
            path = c.get("misc_path")
            if path is None:
                ctx.error(
                    "No script path has been specified for MISC_CHECKER - skipping",
                    "missing",
                    c.get("_close", st),
                )
                continue
            if "_user_bad" in c:
                ctx.error(
                    f"Failed to set uid/gid for misc checker script {C.cmd_str(path.argv)}"
                    " - removing", "reference", c["_user_bad"],
                )  # fmt: skip
                continue
            path = path.__class__(
                argv=path.argv,
                raw=path.raw,
                user=c.get("_user", path.user),
                group=c.get("_group", path.group),
                timeout=float(c["misc_timeout"]) if "misc_timeout" in c else delay_loop,
            )
            fields.update(
                misc_path=path,
                misc_timeout=float(c["misc_timeout"]) if "misc_timeout" in c else None,
                misc_dynamic=c.get("misc_dynamic", False),
            )
        elif kind == "SMTP_CHECK":
            fields["helo_name"] = c.get("helo_name", "smtpchecker.keepalived.org")
            hosts = c.get("_hosts", [])
            base = cls(**fields)
            if not hosts or any(k in c for k in _COMMON if k.startswith("connect")):
                out.append(base)
            for h in hosts:
                hf = dict(fields)
                for k in _COMMON:
                    if k in h:
                        hf[k] = h[k]
                if "connect_timeout" in h:
                    hf["connect_timeout"] = h["connect_timeout"]
                hf["line"] = h["_stmt"].line
                out.append(cls(**hf))
            continue
        elif kind == "DNS_CHECK":
            fields.update(type=c.get("type", "SOA"), name=c.get("name", "."))
        elif kind == "UDP_CHECK":
            fields.update(
                payload=c.get("payload"),
                require_reply=c.get("require_reply"),
                min_reply_length=c.get("min_reply_length", 0),
                max_reply_length=c.get("max_reply_length", 255),
            )
            if fields["min_reply_length"] > fields["max_reply_length"]:
                ctx.error(
                    f"UDP_CHECK min_reply length {fields['min_reply_length']} > max_reply_length "
                    f"{fields['max_reply_length']} - will always fail",
                    "invalid-value",
                    c.get("_close", st),
                )
        elif kind == "FILE_CHECK":
            if "track_file" not in c:
                ctx.error(
                    "FILE_CHECK has no track_file specified - ignoring",
                    "missing",
                    c.get("_close", st),
                )
                continue
            fields.update(
                track_file=c["track_file"], weight=c.get("weight"), reverse=c.get("reverse", False)
            )
        elif kind == "BFD_CHECK":
            if "name" not in c:
                ctx.error("BFD_CHECK has no bfd_instance name specified - ignoring", "missing", st)
                continue
            if any(isinstance(o, BfdCheck) and o.name == c["name"] for o in out):
                ctx.error(
                    f"BFD_CHECK {c['name']} already used by this real server - ignoring",
                    "duplicate",
                    st,
                )
                continue
            fields["name"] = c["name"]
        out.append(cls(**fields))
    return out
