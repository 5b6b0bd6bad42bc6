"""HTTP request building, the bounded response parser and the url verdict."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.checker.http import (
    HttpError,
    Response,
    ResponseParser,
    UrlRule,
    build_request,
    compile_regex,
    host_header,
    judge,
)


def parse(data: bytes, chunks: int = 1, max_body: int = 1 << 20, eof: bool = True) -> Response:
    p = ResponseParser(max_body)
    step = max(1, len(data) // chunks)
    for i in range(0, len(data), step):
        p.feed(data[i : i + step])
    if eof and not p.done:
        p.eof()
    assert p.done
    return p.response


def test_request_versions_byte_for_byte_as_keepalived() -> None:
    # captured from Debian's keepalived 2.2.7 genhash
    assert build_request("/x", "127.0.0.1:80") == (
        b"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:80\r\n\r\n"
    )
    assert build_request("/x", "127.0.0.1:80", "1.0c") == (
        b"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n"
        b"Host: 127.0.0.1:80\r\n\r\n"
    )
    assert build_request("/x", "vh.test", "1.1") == (
        b"GET /x HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n"
        b"Host: vh.test\r\n\r\n"
    )


def test_host_header() -> None:
    assert host_header("10.0.0.1", 80, False, None) == "10.0.0.1:80"
    assert host_header("10.0.0.1", 8080, False, None) == "10.0.0.1:8080"
    assert host_header("2001:db8::1", 443, True, None) == "[2001:db8::1]:443"
    assert host_header("10.0.0.1", 8080, False, "www.example") == "www.example"


def test_content_length_body_any_split() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhelloEXTRA"
    for n in (1, 3, 7, len(raw)):
        r = parse(raw, chunks=n, eof=False)
        assert r.status == 200 and r.body == b"hello" and r.header("x") == "y"


def test_body_until_close() -> None:
    r = parse(b"HTTP/1.0 404 Not Found\r\n\r\nabc")
    assert r.status == 404 and r.body == b"abc" and r.reason == "Not Found"


def test_chunked() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6;x=1\r\n world\r\n0\r\nT: 1\r\n\r\n"
    )
    for n in (1, 2, 5, len(raw)):
        assert parse(raw, chunks=len(raw) // n, eof=False).body == b"hello world"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP response"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "bad status line"),
        (b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", "bad header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", "CRLF"),
    ],
)
def test_garbage_is_an_error_with_a_reason(raw: bytes, why: str) -> None:
    p = ResponseParser()
    with pytest.raises(HttpError, match=why):
        p.feed(raw)


def test_limits() -> None:
    p = ResponseParser(max_body=10)
    with pytest.raises(HttpError, match="larger than 10"):
        p.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n")
    p = ResponseParser(max_body=10)
    p.feed(b"HTTP/1.0 200 OK\r\n\r\n12345")
    with pytest.raises(HttpError, match="body larger than 10"):
        p.feed(b"678901")
    p = ResponseParser()
    with pytest.raises(HttpError, match="header larger"):
        p.feed(b"HTTP/1.0 200 OK\r\n" + b"X: " + b"a" * 70000)


def test_eof_in_the_middle() -> None:
    p = ResponseParser()
    p.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nabc")
    with pytest.raises(HttpError, match="closed in the body after 3"):
        p.eof()
    p = ResponseParser()
    p.feed(b"HTTP/1.0 200")
    with pytest.raises(HttpError, match="before the response header"):
        p.eof()


def resp(status: int, body: bytes) -> Response:
    return Response(status=status, body=body)


def test_judge_status_ranges_digest_regex() -> None:
    rule = UrlRule(path="/", status_codes=((200, 200), (301, 302)))
    assert judge(rule, resp(302, b""), None) is None
    assert "404" in str(judge(rule, resp(404, b""), None))
    d = hashlib.md5(b"page").hexdigest()
    rule = UrlRule(path="/", digest=d.upper())
    assert judge(rule, resp(200, b"page"), None) is None
    assert "digest mismatch" in str(judge(rule, resp(200, b"other"), None))
    rule = UrlRule(path="/", regex="st[a-z]+us: OK", regex_options=("caseless",))
    pat = compile_regex(rule)
    assert judge(rule, resp(200, b"... STATUS: ok"), pat) is None
    assert "did not match" in str(judge(rule, resp(200, b"status: bad"), pat))
    inv = UrlRule(path="/", regex="error", regex_no_match=True)
    assert judge(inv, resp(200, b"all fine"), compile_regex(inv)) is None
    assert "regex_no_match" in str(judge(inv, resp(200, b"an error"), compile_regex(inv)))


def test_regex_offsets() -> None:
    rule = UrlRule(path="/", regex="OK", regex_min_offset=2, regex_max_offset=4)
    pat = compile_regex(rule)
    assert judge(rule, resp(200, b"xxOK"), pat) is None
    assert judge(rule, resp(200, b"OKxxxxxx"), pat) is not None  # before min
    assert judge(rule, resp(200, b"xxxxxxOK"), pat) is not None  # after max


@settings(deadline=None, max_examples=100)
@given(body=st.binary(max_size=300), cut=st.integers(1, 50), chunked=st.booleans())
def test_roundtrip_any_body(body: bytes, cut: int, chunked: bool) -> None:
    if chunked:
        enc = b"".join(
            b"%x\r\n" % len(body[i : i + 7]) + body[i : i + 7] + b"\r\n"
            for i in range(0, len(body), 7)
        )
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + enc + b"0\r\n\r\n"
    else:
        raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    p = ResponseParser()
    for i in range(0, len(raw), cut):
        p.feed(raw[i : i + cut])
    assert p.done and p.response.body == body


@settings(deadline=None, max_examples=200)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise_anything_but_http_error(data: bytes) -> None:
    p = ResponseParser(max_body=100)
    try:
        p.feed(data)
        p.eof()
    except HttpError:
        pass
