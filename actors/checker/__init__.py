"""The checker actor: keepalived's real-server health checks, one verdict per checker.

Pure modules (no sockets, clock or processes):

* ``fsm``: the decision machine per check (retry / delay_before_retry, alpha, warm-up,
  ha_suspend, delays counted from the end of each attempt as keepalived does), events
  in and commands out;
* ``plan``: config model → checks named as on the bus, and reloads as a difference;
* ``http``, ``dns``, ``wire``: the request/response codecs and verdict rules (HTTP/1.x
  with bounds, DNS messages, UDP patterns, ICMP echo, SMTP replies, FILE_CHECK values).

I/O modules: ``actor`` (the shell: timers, bus, status, reloads, ha_suspend, inotify),
``probes_net`` (TCP, UDP, DNS, PING on raw non-blocking sockets and a private epoll
mux), ``probes_stream`` (HTTP without TLS as a callback probe; SSL_GET and SMTP on
asyncio streams), ``probes_proc`` (MISC_CHECK programs, FILE_CHECK files), and
``genhash`` (the ``pykeepalived -T`` command).
"""
