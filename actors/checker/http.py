"""HTTP/1.x for HTTP_GET, SSL_GET and genhash: the request, a bounded response parser,
and the verdict on one ``url`` block (pure: bytes in, decisions out).

The parser is incremental (``feed`` chunks as they arrive) and bounded: a header block
larger than ``MAX_HEADER`` or a body larger than the caller's limit is an error, so an
endless body or a garbage stream ends the attempt with a reason instead of growing
memory. Bodies are framed by ``Content-Length``, by chunked transfer coding (HTTP/1.1
servers may use it even with ``Connection: close``), or by the end of the connection.

The verdict follows keepalived's url block: the status must be in one of the accepted
ranges (default 200-299); when ``digest`` is given the MD5 of the body must equal it;
when ``regex`` is given it must match the body (or must not, with ``regex_no_match``),
with the match starting within ``[regex_min_offset, regex_max_offset]``. Python's ``re``
stands in for PCRE2; the PCRE2 option names keepalived accepts that have a ``re``
equivalent are mapped, the others are ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

MAX_HEADER = 64 * 1024
DEFAULT_MAX_BODY = 4 * 1024 * 1024
USER_AGENT = "KeepAliveClient"

_REGEX_FLAGS = {
    "caseless": re.IGNORECASE,
    "multiline": re.MULTILINE,
    "dotall": re.DOTALL,
    "extended": re.VERBOSE,
    "ungreedy": 0,
    "utf": 0,
    "no_auto_capture": 0,
}


class HttpError(Exception):
    """The server's bytes are not an acceptable HTTP response (the reason is the message)."""


def host_header(address: str, port: int, tls: bool, virtualhost: str | None) -> str:
    """The Host header value: the virtualhost, else ``address:port`` (IPv6 in brackets),
    the port always written, as keepalived does (``tls`` kept for callers' clarity)."""
    if virtualhost:
        return virtualhost
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}"


def build_request(path: str, host: str, protocol: str = "1.0") -> bytes:
    """A GET request as keepalived sends it (same header order): ``http_protocol`` is
    1.0, 1.0C (adds ``Connection: close``) or 1.1 (always with ``Connection: close``)."""
    proto = protocol.upper()
    version = "1.1" if proto == "1.1" else "1.0"
    lines = [f"GET {path} HTTP/{version}", f"User-Agent: {USER_AGENT}"]
    if proto in ("1.0C", "1.1"):
        lines.append("Connection: close")
    lines.append(f"Host: {host}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Response:
    status: int = 0
    reason: str = ""
    version: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    header_bytes: bytes = b""
    body: bytes = b""

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None


class ResponseParser:
    """Feed bytes; ``done`` becomes True when the response is complete."""

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.max_body = max_body
        self.response = Response()
        self.done = False
        self._buf = bytearray()
        self._in_body = False
        self._length: int | None = None
        self._chunked = False
        self._chunk_left = -1  # -1: expecting a size line
        self._body = bytearray()
        self._trailers = False

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        self._buf += data
        if not self._in_body:
            if not self._buf[:5] == b"HTTP/"[: len(self._buf)]:
                raise HttpError(f"not an HTTP response: {bytes(self._buf[:24])!r}")
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEADER:
                    raise HttpError(f"response header larger than {MAX_HEADER} bytes")
                return
            if end > MAX_HEADER:
                raise HttpError(f"response header larger than {MAX_HEADER} bytes")
            self._parse_head(bytes(self._buf[:end]))
            del self._buf[: end + 4]
            self._in_body = True
        self._consume_body()

    def eof(self) -> None:
        """The connection closed: a body without framing ends here."""
        if self.done:
            return
        if not self._in_body:
            raise HttpError("connection closed before the response header ended")
        if self._chunked or self._length is not None:
            got = len(self._body)
            raise HttpError(f"connection closed in the body after {got} bytes")
        self._finish()

    # ---- internals ------------------------------------------------------------------
    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status_line = lines[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HttpError(f"bad status line {status_line[:60]!r}")
        r = self.response
        r.version, r.status = parts[0], int(parts[1])
        r.reason = parts[2] if len(parts) > 2 else ""
        r.header_bytes = head + b"\r\n\r\n"
        for raw in lines[1:]:
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep:
                raise HttpError(f"bad header line {raw[:60]!r}")
            r.headers.append((name.strip(), value.strip()))
        te = (r.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            self._chunked = True
        else:
            cl = r.header("Content-Length")
            if cl is not None:
                if not cl.isdigit():
                    raise HttpError(f"bad Content-Length {cl[:20]!r}")
                self._length = int(cl)
                if self._length > self.max_body:
                    raise HttpError(f"body larger than {self.max_body} bytes")
        if r.status in (204, 304) or 100 <= r.status < 200:
            self._length = 0

    def _consume_body(self) -> None:
        if self._chunked:
            self._consume_chunks()
            return
        self._body += self._buf
        self._buf.clear()
        if len(self._body) > self.max_body:
            raise HttpError(f"body larger than {self.max_body} bytes")
        if self._length is not None and len(self._body) >= self._length:
            del self._body[self._length :]
            self._finish()

    def _consume_chunks(self) -> None:
        # states: size line -> data (self._chunk_left bytes) -> CRLF -> size line ...;
        # a zero size leads to the trailer lines, ended by an empty line
        while True:
            if self._chunk_left > 0:
                take = min(self._chunk_left, len(self._buf))
                if take == 0:
                    return
                self._body += self._buf[:take]
                del self._buf[:take]
                self._chunk_left -= take
                if self._chunk_left > 0:
                    return
                self._chunk_left = -2  # the CRLF after the data
            if self._chunk_left == -2:
                if len(self._buf) < 2:
                    return
                if self._buf[:2] != b"\r\n":
                    raise HttpError("chunk not followed by CRLF")
                del self._buf[:2]
                self._chunk_left = -1
            end = self._buf.find(b"\r\n")
            if end < 0:
                if len(self._buf) > 1024:
                    raise HttpError("chunk size or trailer line too long")
                return
            line = bytes(self._buf[:end])
            del self._buf[: end + 2]
            if self._trailers:
                if not line:
                    self._finish()
                    return
                continue
            size_txt = line.split(b";")[0].strip()
            try:
                size = int(size_txt, 16)
            except ValueError:
                raise HttpError(f"bad chunk size {size_txt[:20]!r}") from None
            if size < 0:
                raise HttpError("negative chunk size")
            if size == 0:
                self._trailers = True
                continue
            if len(self._body) + size > self.max_body:
                raise HttpError(f"body larger than {self.max_body} bytes")
            self._chunk_left = size

    def _finish(self) -> None:
        self.response.body = bytes(self._body)
        self.done = True


@dataclass(frozen=True, slots=True)
class UrlRule:
    """What one ``url`` block accepts (mapped from the config model by the shell)."""

    path: str
    digest: str | None = None
    status_codes: tuple[tuple[int, int], ...] = ((200, 299),)
    regex: str | None = None
    regex_no_match: bool = False
    regex_options: tuple[str, ...] = ()
    regex_min_offset: int = 0
    regex_max_offset: int | None = None


def compile_regex(rule: UrlRule) -> re.Pattern[bytes] | None:
    if rule.regex is None:
        return None
    flags = 0
    for name in rule.regex_options:
        flags |= _REGEX_FLAGS.get(name.lower(), 0)
    return re.compile(rule.regex.encode("utf-8", "surrogateescape"), flags)


def md5_hex(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def judge(rule: UrlRule, response: Response, pattern: re.Pattern[bytes] | None) -> str | None:
    """None when the response satisfies the url block, else the reason it does not."""
    status = response.status
    if not any(lo <= status <= hi for lo, hi in rule.status_codes):
        return f"HTTP status {status} for {rule.path} not accepted"
    if rule.digest is not None:
        got = md5_hex(response.body)
        if got != rule.digest.lower():
            return f"MD5 digest mismatch for {rule.path}: got {got}, expected {rule.digest}"
    if pattern is not None:
        found = _regex_matches(pattern, response.body, rule)
        if found and rule.regex_no_match:
            return f"regex {rule.regex!r} matched {rule.path} (regex_no_match)"
        if not found and not rule.regex_no_match:
            return f"regex {rule.regex!r} did not match {rule.path}"
    return None


def _regex_matches(pattern: re.Pattern[bytes], body: bytes, rule: UrlRule) -> bool:
    m = pattern.search(body, rule.regex_min_offset)
    if m is None:
        return False
    return rule.regex_max_offset is None or m.start() <= rule.regex_max_offset
