"""The SMTP client dialogue, fed server replies by hand (no sockets)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.notifier.smtp import REPLY_BUFFER_MAX, SmtpDialogue

DATA = b"Subject: x\r\n\r\nbody\r\n\r\n.\r\n"


def dialogue(*rcpts: str) -> SmtpDialogue:
    return SmtpDialogue("helo.example", "ka@h1", rcpts or ("a@x",), DATA, "[127.0.0.1]:25")


def test_full_conversation_two_recipients() -> None:
    d = dialogue("a@x", "b@y")
    assert d.receive(b"220 mx ESMTP ready\r\n") == b"HELO helo.example\r\n"
    assert d.receive(b"250 hello\r\n") == b"MAIL FROM:<ka@h1>\r\n"
    assert d.receive(b"250 ok\r\n") == b"RCPT TO:<a@x>\r\n"
    assert d.receive(b"250 ok\r\n") == b"RCPT TO:<b@y>\r\n"
    assert d.receive(b"250 ok\r\n") == b"DATA\r\n"
    assert d.receive(b"354 go ahead\r\n") == DATA
    assert d.receive(b"250 queued\r\n") == b"QUIT\r\n"
    assert d.sent_ok and not d.finished
    assert d.receive(b"221 bye\r\n") == b""
    assert d.finished and d.error is None


def test_multiline_and_split_replies() -> None:
    d = dialogue()
    assert d.receive(b"220-first line\r\n220-second") == b""
    assert d.receive(b" line\r\n220 last\r\n") == b"HELO helo.example\r\n"
    assert d.receive(b"25") == b""
    assert d.receive(b"0-a\r\n250 b\r\n") == b"MAIL FROM:<ka@h1>\r\n"


def test_refused_recipient_quits_with_keepalived_message() -> None:
    d = dialogue()
    d.receive(b"220 x\r\n")
    d.receive(b"250 x\r\n")
    d.receive(b"250 x\r\n")
    assert d.receive(b"550 no such user\r\n") == b"QUIT\r\n"
    assert (
        d.error == "Error processing RCPT cmd on SMTP server [127.0.0.1]:25. SMTP status code = 550"
    )
    d.receive(b"221 bye\r\n")
    assert d.finished and not d.sent_ok


def test_bad_greeting_and_closed_connection() -> None:
    d = dialogue()
    assert d.receive(b"554 go away\r\n") == b"QUIT\r\n"
    assert d.error is not None and "(E)SMTP" in d.error
    d2 = dialogue()
    assert d2.receive(b"") == b""
    assert (
        d2.finished and d2.error == "Remote SMTP server [127.0.0.1]:25 has closed the connection."
    )


def test_timeout_sends_quit_once() -> None:
    d = dialogue()
    assert d.abort("Timeout reading") == b"QUIT\r\n"
    assert not d.finished
    assert d.abort("Timeout reading again") == b""
    assert d.finished and d.error == "Timeout reading"


def test_overflowing_reply_is_an_error() -> None:
    d = dialogue()
    out = d.receive(b"2" * REPLY_BUFFER_MAX)
    assert out == b"QUIT\r\n" and d.error is not None and "overflow" in d.error


@settings(deadline=None, max_examples=300)
@given(st.lists(st.binary(max_size=40), max_size=12))
def test_garbage_never_raises_and_never_reports_success(chunks: list[bytes]) -> None:
    d = dialogue()
    for c in chunks:
        d.receive(c)
    # success needs the exact code sequence; random bytes that happen to spell it are fine
    if d.sent_ok:
        assert d.replies[:6] == [220, 250, 250, 250, 354, 250]


def test_display_name_recipients_use_their_address() -> None:
    d = SmtpDialogue("h", "f@x", ("Ops Team <ops@x>", "b@y"), DATA)
    d.receive(b"220 x\r\n")
    d.receive(b"250 x\r\n")
    assert d.receive(b"250 x\r\n") == b"RCPT TO:<ops@x>\r\n"
    assert d.receive(b"250 x\r\n") == b"RCPT TO:<b@y>\r\n"
