"""Value parsers with keepalived's rules and wording: numbers, timers, booleans, addresses,
and the two quote-aware tokenizers used for script keywords.

Every parser takes the :class:`~pykeepalived.conf.registry.Ctx` to report a problem at
the current statement and returns None when the value is unusable, so handlers read
``v = uint(ctx, word, 1, 255)`` and keep the default when ``v is None``.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from pykeepalived.conf.model import Family, NotifyScript

if TYPE_CHECKING:
    from pykeepalived.conf.registry import Ctx

TRUE_WORDS = frozenset({"true", "on", "yes"})
FALSE_WORDS = frozenset({"false", "off", "no"})
UINT_MAX = 4294967295
#: what keepalived counts as white space (C isspace): no U+3000, no U+00A0
ASCII_WS = " \t\n\r\f\v"
INT_MAX = 2147483647


def _strtol(word: str) -> int | None:
    if not word:
        return None
    t = word[1:] if word[0] in "+-" else word
    if not (t.isdigit() and t.isascii()):
        return None
    return int(word, 10)


def integer(
    ctx: Ctx, word: str | None, lo: int, hi: int, what: str = "", *, unsigned: bool = False
) -> int | None:
    """A decimal integer in ``[lo, hi]``; keepalived's messages on failure (a number
    beyond the C type keepalived reads it into has a wording of its own)."""
    if word is None:
        ctx.error(f"{what or ctx.keyword} missing parameter", "missing-parameter")
        return None
    if word.isdigit() and word.isascii():
        v: int | None = int(word)
        if lo <= v <= hi:  # type: ignore[operator]
            return v
    v = _strtol(word.strip(ASCII_WS))
    if v is None:
        ctx.error(f"invalid number '{word}'", "invalid-number")
        return None
    if unsigned and v > UINT_MAX >= hi:
        ctx.error(f"number '{word}' outside unsigned integer range", "invalid-number")
        return None
    if not unsigned and not -INT_MAX - 1 <= v <= INT_MAX and -INT_MAX - 1 <= lo <= hi <= INT_MAX:
        ctx.error(f"number '{word}' outside integer range", "invalid-number")
        return None
    if v < lo or v > hi:
        ctx.error(f"number '{word}' outside range [{lo}, {hi}]", "invalid-number")
        return None
    return v


def uint(ctx: Ctx, word: str | None, lo: int = 0, hi: int = UINT_MAX, what: str = "") -> int | None:
    """An unsigned decimal integer (a leading ``-`` is invalid, as ``read_unsigned``)."""
    if word is not None and word.isdigit() and word.isascii():
        v = int(word)
        if lo <= v <= hi:
            return v
    if word is not None and word.strip(ASCII_WS).startswith("-"):
        ctx.error(f"negative number '{word}'", "invalid-number")
        return None
    return integer(ctx, word, lo, hi, what, unsigned=True)


def decimal(
    ctx: Ctx,
    word: str | None,
    lo: float,
    hi: float,
    what: str = "",
    places: int = 6,
    fixed: bool = False,
) -> float | None:
    """Fixed-point decimal seconds (µs resolution by default), in ``[lo, hi]``.
    ``fixed``: the range message prints the bounds with six decimals (keepalived's VRRP
    timers: ``[0.010000, 255.000000]``)."""
    if word is None:
        ctx.error(f"{what or ctx.keyword} missing parameter", "missing-parameter")
        return None
    w = word.strip(ASCII_WS)
    if w.startswith("-") and lo >= 0:  # keepalived reads these unsigned
        ctx.error(f"negative number '{word}'", "invalid-number")
        return None
    body = w[1:] if w[:1] in "+-" else w
    ip, _, frac = body.partition(".")
    if (
        not body
        or not (ip.isdigit() or (ip == "" and frac))
        or (frac and not frac.isdigit())
        or not body.isascii()
    ):
        ctx.error(f"invalid number '{word}'", "invalid-number")
        return None
    if len(frac) > places:
        ctx.warning(
            f"number '{word}' has more than {places} decimal places - rounding", "invalid-number"
        )
    v = round(float(w), places)
    if v < lo or v > hi:
        lo_s = f"{lo:.6f}" if fixed else _fmt_num(lo)
        hi_s = f"{hi:.6f}" if fixed else _fmt_num(hi)
        ctx.error(f"number '{word}' outside range [{lo_s}, {hi_s}]", "invalid-number")
        return None
    return v


def _fmt_num(v: float) -> str:
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.6f}".rstrip("0")


def boolean(ctx: Ctx, words: list[str], idx: int = 1, default: bool = True) -> bool | None:
    """An optional BOOL after the keyword: absent → ``default`` (true)."""
    if len(words) <= idx:
        return default
    w = words[idx]
    if w in TRUE_WORDS:
        return True
    if w in FALSE_WORDS:
        return False
    ctx.error(f"invalid boolean value '{w}' for {words[0]}", "invalid-value")
    return None


def _quad(w: str) -> bool:
    """Fast check for a canonical dotted-quad IPv4 address (the common case)."""
    parts = w.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or len(p) > 3 or (len(p) > 1 and p[0] == "0") or int(p) > 255:
            return False
    return True


def ip_address(ctx: Ctx, word: str | None, what: str = "IP address") -> str | None:
    """A numeric IPv4/IPv6 address (anything after ``/`` or ``-`` ignored, as keepalived)."""
    if word is None:
        ctx.error(f"{what} missing", "missing-parameter")
        return None
    if word.isascii() and _quad(word):
        return word
    w = word.split("/", 1)[0]
    if ":" not in w:
        w = w.split("-", 1)[0]
    try:
        return str(ipaddress.ip_address(w))
    except ValueError:
        ctx.error(f"Invalid {what} '{word}'", "invalid-address")
        return None


def family_of(addr: str) -> Family:
    return Family.INET6 if ":" in addr else Family.INET


def prefix(
    ctx: Ctx, word: str, what: str = "address", *, quiet: bool = False
) -> tuple[str, Family] | None:
    """``IP[/LEN]`` → (``"ip/len"``, family); default length 32 / 128."""
    addr, _, plen = word.partition("/")
    if addr.isascii() and _quad(addr):
        if not plen:
            return f"{addr}/32", Family.INET
        if plen.isdigit() and int(plen) <= 32:
            return f"{addr}/{int(plen)}", Family.INET
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        if not quiet:
            ctx.error(f"Invalid {what} '{word}'", "invalid-address")
        return None
    maxlen = 32 if ip.version == 4 else 128
    if plen:
        if not plen.isdigit() or int(plen) > maxlen:
            if not quiet:
                ctx.error(f"Invalid {what} prefix length '{word}'", "invalid-address")
            return None
        n = int(plen)
    else:
        n = maxlen
    return f"{ip}/{n}", (Family.INET6 if ip.version == 6 else Family.INET)


def network(ctx: Ctx, word: str, what: str = "address") -> tuple[str, Family] | None:
    """A route/rule prefix: ``default``/``any``/``all`` or ``IP[/LEN]``."""
    if word in ("default", "any", "all"):
        return "default", Family.INET
    if word == "default6":
        return "default", Family.INET6
    return prefix(ctx, word, what)


def port(ctx: Ctx, word: str | None, allow_zero: bool = True) -> int | None:
    """A port number 1..65535; ``0`` (when allowed) means no port → returns 0."""
    if word is None:
        return None
    v = uint(ctx, word, 0 if allow_zero else 1, 65535, "port")
    return v


# ---------------------------------------------------------------------- tokenizers


def split_quoted(text: str) -> list[str]:
    """keepalived's quoted tokenizer: ``"…"`` and ``'…'`` group words, quotes removed,
    adjacent pieces concatenate, backslashes kept verbatim."""
    words: list[str] = []
    cur: list[str] = []
    have = False
    quote = ""
    for c in text:
        if quote:
            if c == quote:
                quote = ""
            else:
                cur.append(c)
            continue
        if c in "\"'":
            quote = c
            have = True
        elif c in " \t\f\n\r\v":
            if have:
                words.append("".join(cur))
                cur = []
                have = False
        else:
            cur.append(c)
            have = True
    if have:
        words.append("".join(cur))
    return words


_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


def split_escaped(text: str) -> tuple[list[str], str | None]:
    """The quoted+escaped tokenizer (argv of a script, ``regex``): as :func:`split_quoted`
    plus escapes ``\\a \\b \\E \\f \\n \\r \\t \\v``, ``\\nnn`` octal, ``\\xXX`` hex,
    ``\\cC`` control and ``\\C`` → ``C``. Returns (words, error message or None)."""
    words: list[str] = []
    cur: list[str] = []
    have = False
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                return words, "trailing '\\' in string"
            e = text[i + 1]
            i += 2
            have = True
            if e in _ESCAPES:
                cur.append(_ESCAPES[e])
            elif e in "01234567":
                j = i - 1
                k = j
                while k < n and k < j + 3 and text[k] in "01234567":
                    k += 1
                cur.append(chr(int(text[j:k], 8) & 0xFF))
                i = k
            elif e == "x":
                k = i
                while k < n and k < i + 2 and text[k] in "0123456789abcdefABCDEF":
                    k += 1
                if k == i:
                    cur.append("x")
                else:
                    cur.append(chr(int(text[i:k], 16)))
                    i = k
            elif e == "c":
                if i < n:
                    cur.append(chr(ord(text[i].upper()) ^ 0x40))
                    i += 1
            else:
                cur.append(e)
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                cur.append(c)
            i += 1
            continue
        if c in "\"'":
            quote = c
            have = True
        elif c in " \t\f\n\r\v":
            if have:
                words.append("".join(cur))
                cur = []
                have = False
        else:
            cur.append(c)
            have = True
        i += 1
    if quote:
        return words, "unterminated quote in string"
    if have:
        words.append("".join(cur))
    return words, None


def script(
    ctx: Ctx, text: str, *, min_words: int = 2, with_user: bool = True
) -> NotifyScript | None:
    """A SCRIPT keyword from its statement text: command string (+ USER [GROUP])."""
    words = split_quoted(text)
    if len(words) < min_words or not words[1].strip():
        ctx.error(f"{ctx.keyword} requires a script", "missing-parameter")
        return None
    cmd = words[1]
    argv, err = split_escaped(cmd)
    if err is not None:
        ctx.error(f"{ctx.keyword}: {err}", "invalid-value")
        return None
    if not argv:
        ctx.error(f"{ctx.keyword} requires a script", "missing-parameter")
        return None
    user = group = None
    if with_user and len(words) > 2:
        user = words[2]
        if ":" in user:
            user, _, g = user.partition(":")
            group = g or None
        if len(words) > 3:
            group = words[3].lstrip(":")
        if len(words) > 4:
            ctx.error(f"{ctx.keyword}: too many parameters", "extra-parameter")
    return NotifyScript(argv=tuple(argv), raw=cmd, user=user, group=group)
