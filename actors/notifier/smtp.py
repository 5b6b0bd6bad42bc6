"""The SMTP client dialogue of an alert, without I/O (RFC 5321, keepalived's subset).

Owns the conversation keepalived's ``core/smtp.c`` holds with the relay: wait for the
220 greeting, ``HELO``, ``MAIL FROM:<from>``, one ``RCPT TO:<addr>`` per recipient,
``DATA`` (354), the message (250), ``QUIT`` (221). Any other reply code, an over-long
reply or a malformed one ends the dialogue with a ``QUIT`` and a failure that says which
command the server refused, in keepalived's words (``Error processing RCPT cmd on SMTP
server [10.0.0.1]:25. SMTP status code = 550``).

Design: a sans-I/O state machine. The shell feeds it the bytes the socket returned
(:meth:`SmtpDialogue.receive`) and sends what it returns; ``finished`` and ``error`` say
how it ended. Timeouts and connection errors belong to the shell (it knows the clock).
Multi-line replies (``250-...``) are accumulated; only the last line's code counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: keepalived reads replies into a 1024-byte buffer; a longer pending reply is an error
REPLY_BUFFER_MAX = 1024

GREETING, HELO, MAIL, RCPT, DATA, BODY, QUIT, END = range(8)

_EXPECTED = {GREETING: 220, HELO: 250, MAIL: 250, RCPT: 250, DATA: 354, BODY: 250, QUIT: 221}
_NAMES = {
    GREETING: "(E)SMTP",
    HELO: "HELO",
    MAIL: "MAIL",
    RCPT: "RCPT",
    DATA: "DATA",
    BODY: "BODY",
    QUIT: "QUIT",
}


def mailbox(entry: str) -> str:
    """The address of a ``notification_email`` entry: ``"Ops <ops@x>"`` → ``ops@x``.

    keepalived pastes the entry verbatim into ``RCPT TO:<...>``, which relays refuse for
    the display-name form; the address inside the angle brackets is what they expect.
    """
    start, end = entry.rfind("<"), entry.rfind(">")
    if 0 <= start < end:
        return entry[start + 1 : end].strip()
    return entry.strip()


@dataclass
class SmtpDialogue:
    """One alert's conversation. ``server`` only labels messages (``[addr]:port``)."""

    helo_name: str
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes
    server: str = ""
    stage: int = GREETING
    error: str | None = None
    sent_ok: bool = False
    _buffer: bytes = b""
    _next_rcpt: int = 0
    replies: list[int] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.stage == END

    def receive(self, chunk: bytes) -> bytes:
        """Bytes from the server → bytes to send next (b"" when waiting or finished)."""
        if self.finished:
            return b""
        if not chunk:
            self._fail(f"Remote SMTP server {self.server} has closed the connection.")
            self.stage = END
            return b""
        self._buffer += chunk
        out = b""
        while not self.finished:
            code = self._take_reply()
            if code is None:
                if len(self._buffer) >= REPLY_BUFFER_MAX:
                    self._fail(
                        f"Received buffer from remote SMTP server {self.server} overflow our "
                        "get read buffer length."
                    )
                    self._buffer = b""
                    out += self._quit()
                break
            out += self._advance(code)
        return out

    def abort(self, reason: str) -> bytes:
        """A read timed out: keepalived sends QUIT unless it already had (then gives up)."""
        self._fail(reason)
        if self.stage in (QUIT, END):
            self.stage = END
            return b""
        return self._quit()

    # ---- internals -----------------------------------------------------------------
    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason

    def _take_reply(self) -> int | None:
        """Pop one complete (possibly multi-line) reply; its code, -1 if malformed."""
        pos = 0
        while True:
            end = self._buffer.find(b"\r\n", pos)
            if end < 0:
                return None
            line = self._buffer[pos:end]
            pos = end + 2
            if len(line) >= 4 and line[3:4] == b"-":
                continue  # a continuation line of a multi-line reply
            self._buffer = self._buffer[pos:]
            head = line[:3]
            if len(head) == 3 and head.isdigit():
                return int(head)
            return -1

    def _advance(self, code: int) -> bytes:
        self.replies.append(code)
        stage = self.stage
        if code != _EXPECTED[stage]:
            if stage == QUIT:
                self.stage = END
                return b""
            self._fail(
                f"Error processing {_NAMES[stage]} cmd on SMTP server {self.server}. "
                f"SMTP status code = {code}"
            )
            return self._quit()
        if stage == GREETING:
            self.stage = HELO
            return f"HELO {self.helo_name}\r\n".encode()
        if stage == HELO:
            self.stage = MAIL
            return f"MAIL FROM:<{self.mail_from}>\r\n".encode()
        if stage in (MAIL, RCPT):
            if stage == RCPT and self._next_rcpt >= len(self.recipients):
                self.stage = DATA
                return b"DATA\r\n"
            if not self.recipients:
                self._fail("no recipients")
                return self._quit()
            self.stage = RCPT
            rcpt = mailbox(self.recipients[self._next_rcpt])
            self._next_rcpt += 1
            return f"RCPT TO:<{rcpt}>\r\n".encode()
        if stage == DATA:
            self.stage = BODY
            return self.data
        if stage == BODY:
            self.sent_ok = True
            return self._quit()
        self.stage = END  # QUIT answered 221
        return b""

    def _quit(self) -> bytes:
        self.stage = QUIT
        return b"QUIT\r\n"
