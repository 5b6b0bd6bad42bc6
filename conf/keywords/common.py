"""Handler factories shared by the keyword tables: flags, booleans, numbers, strings,
scripts, "accepted but not implemented" keywords, and the ``track_*`` entry lines."""

from __future__ import annotations

from pykeepalived.conf import values as V
from pykeepalived.conf.model import TrackRef
from pykeepalived.conf.preprocess import Stmt
from pykeepalived.conf.registry import Ctx, Draft, Handler


def arg(ctx: Ctx, st: Stmt, idx: int = 1, what: str = "") -> str | None:
    """Word ``idx`` of the statement, or None with keepalived's missing-parameter error."""
    if len(st.words) > idx:
        return st.words[idx]
    ctx.error(f"{what or st.words[0]} requires a parameter", "missing-parameter", st)
    return None


def extra(ctx: Ctx, st: Stmt, allowed: int) -> None:
    """Report words beyond the ``allowed`` arguments (they are ignored)."""
    if len(st.words) > allowed + 1:
        ctx.warning(
            f"{st.words[0]}: extra parameter(s) '{' '.join(st.words[allowed + 1 :])}' ignored",
            "extra-parameter",
            st,
        )


def flag(field: str, value: object = True) -> Handler:
    """A bare keyword setting ``field`` to ``value``."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        extra(ctx, st, 0)
        d[field] = value

    return h


def boolean(field: str) -> Handler:
    """``keyword [BOOL]``: bare means true."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        v = V.boolean(ctx, st.words)
        if v is not None:
            d[field] = v

    return h


def uint(field: str, lo: int = 0, hi: int = V.UINT_MAX, *, zero_as: int | None = None) -> Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = arg(ctx, st)
        if w is None:
            return
        v = V.uint(ctx, w, lo, hi)
        if v is not None:
            d[field] = zero_as if (v == 0 and zero_as is not None) else v
        extra(ctx, st, 1)

    return h


def repeat(field: str, *, instance: bool = False) -> Handler:
    """A GARP repeat count: 0 is reported and taken as 1, with keepalived's wording."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = arg(ctx, st)
        if w is None:
            return
        v = V.uint(ctx, w, 0, V.INT_MAX)
        if v is None:
            return
        if v == 0:
            who = f"({d.get('name', '?')}): " if instance else ""
            ctx.error(
                f"{who}{st.words[0]} must be greater than 0, setting to 1", "invalid-value", st
            )
            v = 1
        d[field] = v
        extra(ctx, st, 1)

    return h


def integer(field: str, lo: int, hi: int) -> Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = arg(ctx, st)
        if w is None:
            return
        v = V.integer(ctx, w, lo, hi)
        if v is not None:
            d[field] = v
        extra(ctx, st, 1)

    return h


def decimal(
    field: str, lo: float = 0.0, hi: float = 4294.967295, *, zero_as: float | None = None
) -> Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = arg(ctx, st)
        if w is None:
            return
        v = V.decimal(ctx, w, lo, hi)
        if v is not None:
            d[field] = zero_as if (v == 0 and zero_as is not None) else v
        extra(ctx, st, 1)

    return h


def string(field: str, *, words: int = 1, rest: bool = False, missing: str = "") -> Handler:
    """One word (or, with ``rest``, all remaining words joined by a space). ``missing``:
    keepalived's own message when the word is absent (else the generic one)."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        if missing and len(st.words) < 2:
            ctx.error(missing, "missing-parameter", st)
            return
        w = arg(ctx, st)
        if w is None:
            return
        if rest:
            d[field] = " ".join(st.words[1:])
            return
        d[field] = w
        extra(ctx, st, words)

    return h


def choice(field: str, options: dict[str, object], *, what: str = "") -> Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = arg(ctx, st)
        if w is None:
            return
        if w not in options:
            ctx.error(
                f"{what or st.words[0]}: invalid value '{w}' (expected {', '.join(options)})",
                "invalid-value",
                st,
            )
            return
        d[field] = options[w]
        extra(ctx, st, 1)

    return h


def script(field: str) -> Handler:
    """A SCRIPT [USER [GROUP]] keyword, re-parsed from the statement text."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        s = V.script(ctx, st.text)
        if s is not None:
            d[field] = s
            d.setdefault("_scripts", []).append((field, s, st))

    return h


def accepted(field: str | None = None) -> Handler:
    """A keyword kept only as text (for unimplemented features): ``field`` = the words."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        if field is not None:
            d[field] = tuple(st.words[1:])

    return h


def ignore_entry(ctx: Ctx, d: Draft, st: Stmt) -> None:
    """Entry handler of a value block whose contents pykeepalived does not use."""


def _weight_range_msg(owner: str, what: str, name: str, w: str, lo: int, hi: int) -> str:
    """keepalived 2.2.7's wording differs by what is tracked (measured with -t)."""
    if what == "track script":
        return (
            f"({owner}) track script {name}: weight must be between [{lo}..{hi}] inclusive, "
            "ignoring..."
        )
    if what == "track file":
        return (
            f"({owner}) weight for track file {name} must be in [{lo}..{hi}] inclusive. Ignoring..."
        )
    return f"({owner}) weight {w} for {name} must be between [{lo}..{hi}] inclusive. Ignoring..."


def track_entry(field: str, lo: int, hi: int, *, what: str, exists: str | None = None) -> Handler:
    """``NAME [weight W [reverse|noreverse]]`` → ``TrackRef`` appended to ``d[field]``.

    ``exists`` names a ``ctx.shared`` set the name must be in (defined earlier), with
    keepalived's "not found, ignoring" otherwise.
    """

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = st.words
        name = w[0]
        owner = d.get("name", "?")
        if exists is not None and name not in ctx.shared.get(exists, ()):
            ctx.error(f"({owner}) {what} {name} not found, ignoring...", "reference", st)
            return
        weight: int | None = None
        reverse = False
        i = 1
        while i < len(w):
            if w[i] == "weight":
                if i + 1 >= len(w):
                    ctx.error(f"({owner}) {what} {name} weight missing", "missing-parameter", st)
                    return
                v = V.integer(ctx, w[i + 1], -254, 254)
                if v is None:
                    if V._strtol(w[i + 1]) is not None:
                        ctx.error(_weight_range_msg(owner, what, name, w[i + 1], lo, hi),
                                  "invalid-number", st)  # fmt: skip
                    if field != "track_interface":
                        return
                    # keepalived 2.2.7 still tracks the interface, without the weight
                    i += 2
                    continue
                if abs(v) == 254 and hi == 253:
                    ctx.error(
                        f"({owner}) weight for {name} cannot be +/-254. Setting to +/-253",
                        "invalid-number",
                        st,
                    )
                    v = 253 if v > 0 else -253
                weight = v
                i += 2
            elif w[i] == "reverse":
                reverse = True
                i += 1
            elif w[i] == "noreverse":
                reverse = False
                i += 1
            else:
                ctx.error(f"({owner}) unknown {what} option '{w[i]}'", "invalid-value", st)
                i += 1
        refs: list[TrackRef] = d.setdefault(field, [])
        if any(r.name == name for r in refs):
            ctx.warning(f"({owner}) duplicate {what} {name} - ignoring", "duplicate", st)
            return
        refs.append(TrackRef(name=name, weight=weight, reverse=reverse))
        d.setdefault("_track_lines", {})[(field, name)] = st

    return h


def script_field(field: str) -> Handler:
    """``misc_path`` / ``script``: a script command line (argv), stored under ``field``."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        s = V.script(ctx, st.text, with_user=False)
        if s is not None:
            d[field] = s

    return h


def account_exists(user: str, group: str | None) -> bool:
    """keepalived resolves a script's user and group when it reads them; so do we
    (numeric ids pass)."""
    import grp
    import pwd

    try:
        if not user.isdigit():
            pwd.getpwnam(user)
        if group is not None and not group.isdigit():
            grp.getgrnam(group)
    except KeyError:
        return False
    return True


def cmd_str(argv: tuple[str, ...]) -> str:
    """A script as keepalived quotes it in messages: each word in single quotes."""
    return " ".join(w if i == 0 and w[:1] in "<>" and w else f"'{w}'" for i, w in enumerate(argv))


def script_user(ctx: Ctx, d: Draft, st: Stmt) -> None:
    """``user USER[:GROUP] [GROUP]`` of a MISC_CHECK or vrrp_script. An account that does
    not exist is remembered (``_user_bad``): the block's closer removes the script or the
    checker, with keepalived's message at this line."""
    w = arg(ctx, st)
    if w is None:
        return
    user, _, group = w.partition(":")
    d["_user"] = user
    if group:
        d["_group"] = group
    if len(st.words) > 2:
        d["_group"] = st.words[2].lstrip(":")
    if account_exists(user, d.get("_group")):
        d.pop("_user_bad", None)
    else:
        d["_user_bad"] = st
