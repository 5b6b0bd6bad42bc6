"""genhash: print the MD5 digest of a web page, to fill in an HTTP_GET/SSL_GET ``digest``.

Command line as keepalived's ``keepalived --genhash`` (``-T``)::

    genhash -s SERVER -p PORT -u URL [-S] [-I] [-V VHOST] [-P 1.0|1.0C|1.1]
            [-m FWMARK] [-t TIMEOUT] [-v]

Without ``-v`` the output is the 32 hex digits alone, as keepalived prints them, so
``digest $(pykeepalived -T -s ... )`` works. ``-v`` adds the status line, the header
block and the body size first. The page is fetched with the same code (and the same
limits) as the HTTP_GET checker uses, so the digest is the one the checker computes.
Exit status 0 on success, 1 when the page could not be fetched, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pykeepalived.actors.checker import http as httpcodec
from pykeepalived.actors.checker.plan import Target
from pykeepalived.actors.checker.probes_stream import HttpProbe, tls_context


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="genhash",
        description="Print the MD5 digest of a web page for HTTP_GET/SSL_GET digest lines.",
    )
    p.add_argument("-s", "--server", required=True, help="server IP address")
    p.add_argument("-p", "--port", type=int, default=None, help="server port (80, 443 with -S)")
    p.add_argument("-u", "--url", required=True, help="path to fetch, e.g. /index.html")
    p.add_argument("-S", "--use-ssl", action="store_true", help="use TLS")
    p.add_argument("-I", "--use-sni", action="store_true", help="send SNI (the virtualhost)")
    p.add_argument("-V", "--use-virtualhost", metavar="VHOST", help="Host header (and SNI)")
    p.add_argument("-P", "--protocol", default="1.0", help="HTTP protocol: 1.0, 1.0C or 1.1")
    p.add_argument("-m", "--fwmark", type=int, default=None, help="SO_MARK for the connection")
    p.add_argument("-t", "--timeout", type=float, default=5.0, help="timeout in seconds")
    p.add_argument("-v", "--verbose", action="store_true", help="show the response header")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    if args.protocol.upper() not in ("1.0", "1.0C", "1.1"):
        print(f"genhash: unknown HTTP protocol {args.protocol!r}", file=sys.stderr)
        return 2
    port = args.port or (443 if args.use_ssl else 80)
    target = Target(host=args.server, port=port, connect_timeout=args.timeout, fwmark=args.fwmark)
    host = httpcodec.host_header(args.server, port, args.use_ssl, args.use_virtualhost)
    sni = args.use_virtualhost if args.use_sni else None

    async def fetch() -> tuple[httpcodec.Response | None, str | None]:
        loop = asyncio.get_running_loop()
        tls = tls_context() if args.use_ssl else None
        probe = HttpProbe(loop, target, (), args.protocol, tls, sni)
        got = await probe.fetch(args.url, host)
        return got.response, got.error

    response, error = asyncio.run(fetch())
    if response is None:
        print(f"genhash: {target.describe()}{args.url}: {error}", file=sys.stderr)
        return 1
    if args.verbose:
        print(response.header_bytes.decode("latin-1").rstrip("\r\n"))
        print(f"\n[{len(response.body)} body bytes]")
        print("MD5SUM = ", end="")
    print(httpcodec.md5_hex(response.body))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
