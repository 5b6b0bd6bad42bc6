"""A load-balancing lab: client, director and web servers on one bridge, NAT through the director.

The hosts share one /24, so each web server routes its replies to the client through
the director (a /32 route) and ICMP redirects are off on both sides: otherwise replies
would skip the director and its NAT. Web servers answer every connection with their name;
the client makes N connections in a row and reports, as JSON, who answered and which
attempts failed.
"""

from __future__ import annotations

import json
import sys
import time

from tests import lab as lab_mod

SERVER = r"""
import socket, sys
name, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[3] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[3], port))
s.listen(512)
while True:
    c, _ = s.accept()
    try:
        c.sendall(name.encode())
    except OSError:
        pass
    c.close()
"""

CLIENT = r"""
import json, socket, sys, time
host, port, n, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
answers, failures = {}, []
for i in range(n):
    try:
        with socket.create_connection((host, port), timeout=3) as c:
            data = b""
            while True:
                chunk = c.recv(64)
                if not chunk:
                    break
                data += chunk
        name = data.decode() or "<empty>"
        answers[name] = answers.get(name, 0) + 1
    except OSError as exc:
        failures.append(f"{i}: {exc!r}")
    if pause:
        time.sleep(pause)
print(json.dumps({"answers": answers, "failures": failures}))
"""


class LbLab:
    """``client``, ``director``, ``web1``, ``web2`` on one bridge; VIP on the director."""

    def __init__(self, *, ipv6: bool = False) -> None:
        self.lab = lab_mod.Lab(("client", "director", "web1", "web2"), ipv6=ipv6)
        try:
            self.client = self.lab["client"]
            self.director = self.lab["director"]
            self.web = [self.lab["web1"], self.lab["web2"]]
            self.vip = self.lab.vip(200)
            d = self.director
            d.run(["ip", "addr", "add", f"{self.vip}/24", "dev", "eth0"])
            d.run(
                [
                    "sysctl",
                    "-qw",
                    "net.ipv4.ip_forward=1",
                    "net.ipv4.conf.all.send_redirects=0",
                    "net.ipv4.conf.eth0.send_redirects=0",
                ]
            )
            for w in self.web:
                w.run(["ip", "route", "add", f"{self.client.ipv4}/32", "via", d.ipv4])
                w.run(
                    [
                        "sysctl",
                        "-qw",
                        "net.ipv4.conf.all.accept_redirects=0",
                        "net.ipv4.conf.eth0.accept_redirects=0",
                    ]
                )
            self.vip6 = self.lab.vip6(0x200)
            if ipv6:
                d.run(["ip", "addr", "add", f"{self.vip6}/64", "dev", "eth0", "nodad"])
                d.run(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
                for w in self.web:
                    w.run(["ip", "-6", "route", "add", f"{self.client.ipv6}/128", "via", d.ipv6])
                    w.run(["sysctl", "-qw", "net.ipv6.conf.all.accept_redirects=0",
                           "net.ipv6.conf.eth0.accept_redirects=0"])  # fmt: skip
            self.servers: dict[tuple[str, int], lab_mod.Proc] = {}
        except BaseException:
            self.lab.close()
            raise

    def serve(self, index: int, port: int, name: str | None = None, *, ipv6: bool = False) -> None:
        host = self.web[index]
        label = name or host.name
        bind = host.ipv6 if ipv6 else host.ipv4
        proc = host.popen(
            [sys.executable, "-c", SERVER, label, str(port), bind],
            description=f"server {label}",
        )
        self.servers[(host.name, port)] = proc
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if f":{port} " in host.run(["ss", "-ltnH"]):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{label} does not listen on {port}: {proc.output()}")

    def stop_server(self, index: int, port: int) -> None:
        self.servers.pop((self.web[index].name, port)).stop(grace=2.0)

    def requests(
        self, n: int, pause: float = 0.0, port: int = 80, vip: str | None = None
    ) -> dict[str, object]:
        out = self.client.run(
            [sys.executable, "-c", CLIENT, vip or self.vip, str(port), str(n), str(pause)],
            timeout=120,
        )
        result: dict[str, object] = json.loads(out)
        return result

    def start_requests(self, n: int, pause: float, port: int = 80) -> lab_mod.Proc:
        return self.client.popen(
            [sys.executable, "-c", CLIENT, self.vip, str(port), str(n), str(pause)],
            description="client",
        )

    def config(self, weights: tuple[int, int] = (3, 1), extra: str = "") -> str:
        w1, w2 = self.web
        return f"""
global_defs {{ router_id director }}
pykeepalived {{ lb_backend nftables }}
virtual_server {self.vip} 80 {{
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  sorry_server {w1.ipv4} 8081
  real_server {w1.ipv4} 8080 {{
    weight {weights[0]}
    TCP_CHECK {{ connect_timeout 1
      retry 0 }}
  }}
  real_server {w2.ipv4} 8080 {{
    weight {weights[1]}
    TCP_CHECK {{ connect_timeout 1
      retry 0 }}
  }}
}}
{extra}
"""

    def close(self) -> None:
        self.lab.close()

    def __enter__(self) -> LbLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
