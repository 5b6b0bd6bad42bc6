"""keepalived's line-level preprocessing: from files to a flat list of statements and braces.

This module owns what keepalived's ``read_line`` does before any keyword is looked at:

1. read a physical line, strip the line end, remove comments (``#``/``!`` outside double
   quotes; ``\\#``/``\\!`` are literal), strip blanks;
2. collect multi-line ``$NAME=`` definitions (lines ending in ``\\``);
3. ``@id`` / ``@^id`` conditional lines against the config-id;
4. ``$NAME=VALUE`` definitions;
5. ``~SEQ(...)``, ``~SEQx(...)``, ``~LST(...)`` generators;
6. ``$NAME`` / ``${NAME}`` substitution (recursive, with the built-ins ``_PWD``,
   ``_INSTANCE``, ``_RANDOM [MIN [MAX]]``, ``_ENV NAME``, ``_HASH``, ``_BANG``), then
   comments are removed again; a substituted line starting with ``@`` is filtered again
   (keepalived 2.2.7 behaviour);
7. ``include`` / ``includer`` / ``includem`` / ``includew`` / ``includeb`` / ``includea``
   with globs (csh braces too) relative to the including file;
8. split at every unquoted ``{``/``}`` and tokenise (a word starting with ``"`` runs to
   the next ``"``; single quotes are ordinary characters here).

The result is a list of :class:`Stmt`, which are also the tokens the shape parser
reads (their ``type`` is the grammar's terminal): ``STMT`` a statement (``words``, the
statement's ``text`` for keywords that re-parse their line with the quote-aware
tokenizer, its file/line), ``OPEN`` a statement that a ``{`` follows (the brace is
folded into it, wherever it was written), ``LBRACE`` a ``{`` with no statement before it,
``RBRACE`` a ``}``. Brace balance is repaired here (an extra ``}`` is dropped, missing
``}`` are added at the end of input), with keepalived's messages, so the shape grammar
always sees a balanced stream.

Design note: the speed of the whole load is dominated by this loop on large generated
files, so a line holding none of ``$ @ ~ " # !`` and no backslash takes a fast path
(``str.split``, plus a split at braces when it has any).
"""

from __future__ import annotations

import glob as _glob
import os
import random
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from pykeepalived.conf.diagnostics import Diagnostic
from pykeepalived.conf.values import ASCII_WS

MAXBUF = 1024
MAX_INCLUDE_DEPTH = 32
MAX_EXPANSION_LINES = 2_000_000
MAX_SUBSTITUTIONS = 10_000

#: keepalived splits words at C white space only: U+3000 and U+00A0 stay inside a word
_WS = ASCII_WS
_WS_RE = re.compile("[ \t\n\r\f\v]+")


#: characters Python's str.split() takes for white space and C's isspace() does not
_PY_ONLY_WS = frozenset("\x1c\x1d\x1e\x1f")


def _words(text: str) -> list[str]:
    """Split ``text`` into words at ASCII white space, as keepalived does."""
    if text.isascii() and _PY_ONLY_WS.isdisjoint(text):
        return text.split()  # the fast path: the same split for these texts
    return [w for w in _WS_RE.split(text) if w]


_SPECIAL_FAST = frozenset('$@~"#!\\\0')
_INCLUDE_WORDS = {
    "include": "",
    "includer": "r",
    "includem": "rm",
    "includew": "rmw",
    "includeb": "rb",
    "includea": "rmwb",
}
_BRACE_RE = re.compile(r"([{}])")
intern = sys.intern
_PRE_WORDS = frozenset([*_INCLUDE_WORDS, "include_check"])
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEF_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)=[ \t]*(.*)\Z", re.S)
_GEN_RE = re.compile(r"~(SEQx|SEQ|LST)\(")


STMT = "STMT"
OPEN = "OPEN"
LBRACE = "LBRACE"
RBRACE = "RBRACE"


class Stmt:
    """A statement or a brace; ``type`` is its terminal in ``shape.lark``.

    Instances are handed to lark's LALR parser as they are (it only reads ``type``), so
    no lark ``Token`` is built per line; the class attributes below are the position
    fields lark borrows for its end-of-input token.
    """

    #: ``brace_line`` (set only when the ``{`` of a block head stands on a later line):
    #: that line, for messages about the brace itself
    __slots__ = ("_text", "brace_line", "file", "line", "type", "words")
    brace_line: int

    start_pos = None
    column = None
    end_line = None
    end_column = None
    end_pos = None

    def __init__(self, type: str, words: list[str], text: str | None, file: str, line: int) -> None:
        self.type = type
        self.words = words
        self._text = text
        self.file = file
        self.line = line

    @property
    def text(self) -> str:
        """The statement as written (after preprocessing), for keywords that re-read it
        with the quote-aware tokenizer. Fast-path lines (no quotes, no backslashes) do not
        keep it: their words joined by a blank read the same."""
        return self._text if self._text is not None else " ".join(self.words)

    def __repr__(self) -> str:
        return f"Stmt({self.type}, {self.words!r}, {self.file}:{self.line})"


@dataclass(slots=True)
class _Multi:
    """A multi-line ``$NAME=`` definition being collected."""

    name: str
    lines: list[str]


@dataclass
class Preprocessor:
    """Turns a main file (and what it includes) into statements; see the module docstring.

    ``config_id`` is keepalived's ``-i`` (default: host name up to the first dot).
    ``env`` is the environment for ``${_ENV NAME}``. ``rng`` serves ``${_RANDOM}``.
    """

    config_id: str
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    rng: random.Random = field(default_factory=random.Random)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    out: list[Stmt] = field(default_factory=list)
    defs: dict[str, str | list[str]] = field(default_factory=dict)
    include_check: str = ""
    _depth: int = 0
    _brace_depth: int = 0
    _cur_file: str = ""
    _cur_line: int = 0
    _multi: _Multi | None = None

    # ------------------------------------------------------------------ messages

    def _diag(self, severity: str, message: str, code: str, line: int | None = None) -> None:
        self.diagnostics.append(
            Diagnostic(
                severity,  # type: ignore[arg-type]
                self._cur_file,
                self._cur_line if line is None else line,
                message,
                code,
            )
        )

    def error(self, message: str, code: str = "semantic") -> None:
        self._diag("error", message, code)

    def warning(self, message: str, code: str = "semantic") -> None:
        self._diag("warning", message, code)

    # ------------------------------------------------------------------ files

    def run(self, path: str) -> list[Stmt]:
        """Read the main file ``path`` (itself globbed, as keepalived does)."""
        matches = _expand_glob(path, os.getcwd())
        if not matches:
            self._cur_file = path
            self._diag("error", f"Config files missing '{path}'.", "file-missing", 0)
            return self.out
        if len(matches) > 1:
            self._cur_file = path
            self._diag(
                "warning", f"Config file name {path} matches {len(matches)} files", "file", 0
            )
        for m in matches:
            self._read_file(m)
        self._finish()
        return self.out

    def run_text(
        self, text: str, name: str = "<string>", base_dir: str | None = None
    ) -> list[Stmt]:
        """Preprocess ``text`` as if it were the main file ``name``."""
        self.files.append(name)
        self._read_lines(text.split("\n"), name, base_dir or os.getcwd())
        self._finish()
        return self.out

    def _finish(self) -> None:
        if self._multi is not None:
            self._end_multi()
        if self._brace_depth > 0:
            n = self._brace_depth
            self._diag("error", f"There are {n} missing '}}'s or extra '{{'s", "brace", 0)
            for _ in range(n):
                self.out.append(Stmt(RBRACE, [], "}", self._cur_file, self._cur_line))
            self._brace_depth = 0

    def _read_file(self, path: str) -> None:
        if self._depth >= MAX_INCLUDE_DEPTH:
            self.error(
                f"Include depth exceeds {MAX_INCLUDE_DEPTH} at '{path}' - ignoring", "include"
            )
            return
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            self.error(f"Unable to open config file '{path}': {exc.strerror}", "file")
            return
        self.files.append(path)
        text = data.decode("utf-8", errors="surrogateescape")
        self._read_lines(text.split("\n"), path, os.path.dirname(os.path.abspath(path)))

    def _read_lines(self, lines: list[str], name: str, base_dir: str) -> None:
        saved = (self._cur_file, self._cur_line, self.defs.get("_PWD"), self.include_check)
        self._depth += 1
        self._cur_file = name
        self.defs["_PWD"] = base_dir
        try:
            self._read_physical(lines, name, base_dir)
            if self._multi is not None:
                self._end_multi()
        finally:
            self._depth -= 1
            self._cur_file, self._cur_line, pwd, self.include_check = saved
            if pwd is None:
                self.defs.pop("_PWD", None)
            else:
                self.defs["_PWD"] = pwd

    def _read_physical(self, lines: list[str], name: str, base_dir: str) -> None:
        out = self.out
        append = out.append
        special = _SPECIAL_FAST
        make = Stmt
        lineno = 0
        depth = self._brace_depth  # kept local on the fast path, synced around slow calls
        for raw in lines:
            lineno += 1
            text = raw.strip(_WS)
            if not text:
                continue
            if len(raw) < 250 and special.isdisjoint(text) and self._multi is None:
                # fast path: no comment, quote, substitution, conditional or generator
                last = text[-1]
                if last == "{":
                    if text.count("{") == 1 and "}" not in text and text[:7] != "include":
                        words = _words(text[:-1])
                        depth += 1
                        if words:
                            words[0] = intern(words[0])
                            append(make(OPEN, words, None, name, lineno))
                        elif out and out[-1].type is STMT:
                            out[-1].type = OPEN
                            out[-1].brace_line = lineno
                        else:
                            append(make(LBRACE, [], "{", name, lineno))
                        continue
                elif last == "}" and len(text) == 1:
                    if depth:
                        depth -= 1
                        append(make(RBRACE, [], "}", name, lineno))
                        continue
                elif "{" not in text and "}" not in text:
                    words = _words(text)
                    if words[0] not in _PRE_WORDS:
                        words[0] = intern(words[0])
                        append(make(STMT, words, None, name, lineno))
                        continue
                    if words[0] == "include_check":
                        self._include_check(words[1:])
                        append(make(STMT, words, text, name, lineno))
                        continue
                    self._brace_depth = depth
                    self._cur_line = lineno
                    self._include(text, base_dir)
                    depth = self._brace_depth
                    continue
                self._brace_depth = depth
                self._emit_braced(raw, name, lineno)
                depth = self._brace_depth
                continue
            self._brace_depth = depth
            self._slow_line(raw, lineno, base_dir)
            depth = self._brace_depth
        self._brace_depth = depth

    def _slow_line(self, raw: str, lineno: int, base_dir: str) -> None:
        """Everything but the fast path: comments, quotes, definitions, generators..."""
        self._cur_line = lineno
        if raw[-1] in "\r\n":
            raw = raw.rstrip("\r\n")
        if len(raw) > 250 and len(raw.encode("utf-8", errors="surrogateescape")) >= MAXBUF - 1:
            self.error("Configuration line too long - ignoring", "invalid-value")
            return
        if "\0" in raw:
            self.error("Configuration line contains embedded NULs - ignoring", "invalid-value")
            return
        text = self._decomment(raw)
        if self._multi is not None:
            self._collect_multi(text)
            return
        if text:
            self._process(text, base_dir, 0)

    # ------------------------------------------------------------------ lexical helpers

    def _decomment(self, line: str) -> str:
        """Remove a comment and the blanks around the text; report unbalanced quotes."""
        if not any(c in line for c in '#!"\\'):
            return line.strip(_WS)
        out: list[str] = []
        in_quote = False
        quotes = 0
        i = 0
        n = len(line)
        while i < n:
            c = line[i]
            if c == '"':
                in_quote = not in_quote
                quotes += 1
            elif not in_quote:
                if c in "#!":
                    break
                if c == "\\" and i + 1 < n and line[i + 1] in "#!":
                    out.append(line[i + 1])
                    i += 2
                    continue
            out.append(c)
            i += 1
        if in_quote:
            self.error("Unterminated quote", "quote")
        text = "".join(out).strip(_WS)
        if text.endswith("\\"):
            text = text[:-1].rstrip() + "\\"
        return text

    # ------------------------------------------------------------------ definitions

    def _collect_multi(self, text: str) -> None:
        multi = self._multi
        assert multi is not None
        if not text:
            self._end_multi()
            return
        if text.endswith("\\"):
            multi.lines.append(text[:-1].rstrip())
        else:
            multi.lines.append(text)
            self._end_multi()

    def _end_multi(self) -> None:
        multi = self._multi
        assert multi is not None
        self._multi = None
        self.defs[multi.name] = [ln for ln in multi.lines if ln != ""]

    def _definition(self, text: str) -> bool:
        """Handle a ``$NAME=VALUE`` line; True when it was one."""
        m = _DEF_RE.match(text)
        if m is None:
            return False
        name, value = m.group(1), m.group(2)
        if value.endswith("\\"):
            first = value[:-1].rstrip()
            self._multi = _Multi(name, [first] if first else [])
            return True
        self.defs[name] = value
        return True

    # ------------------------------------------------------------------ one logical line

    def _process(self, text: str, base_dir: str, nesting: int) -> None:
        if nesting > 64:
            self.error("Definitions nested too deeply - ignoring line", "invalid-value")
            return
        text = self._conditional(text)
        if not text:
            return
        if text[0] == "$" and self._definition(text):
            return
        if text[0] == "~":
            m = _GEN_RE.match(text)
            if m is not None:
                self._generator(text, m, base_dir, nesting)
                return
        if "$" in text:
            replaced, multi_lines = self._substitute(text)
            if replaced != text or multi_lines:
                replaced = self._decomment(replaced)
                if replaced:
                    if replaced[0] == "@" or (replaced[0] == "$" and _DEF_RE.match(replaced)):
                        self._process(replaced, base_dir, nesting + 1)
                    else:
                        self._emit(replaced, base_dir)
                for extra in multi_lines:
                    self._process_fed(extra, base_dir, nesting + 1)
                return
        self._emit(text, base_dir)

    def _process_fed(self, text: str, base_dir: str, nesting: int) -> None:
        """A line coming back out of a multi-line definition: the whole pipeline again."""
        text = self._decomment(text) if text else text
        if not text:
            return
        if self._multi is not None:
            self._collect_multi(text)
            return
        self._process(text, base_dir, nesting)

    def _conditional(self, text: str) -> str:
        while text and text[0] == "@":
            end = 1
            n = len(text)
            while end < n and text[end] not in " \t":
                end += 1
            if end >= n:
                return ""
            word = text[1:end]
            negate = word.startswith("^")
            if negate:
                word = word[1:]
            match = word == self.config_id
            if match == negate:
                return ""
            text = text[end:].lstrip()
        return text

    def _emit(self, text: str, base_dir: str) -> None:
        words = _words(text)
        first = words[0] if words else ""
        if first in _INCLUDE_WORDS:
            self._include(text, base_dir)
            return
        for piece_kind, piece in _split_braces(text):
            if piece_kind == "s":
                words, bad_quote = _tokenise(piece)
                if bad_quote:
                    self.error("Unmatched quote", "quote")
                if words and words[0] == "include_check":
                    self._include_check(words[1:])
                if words:
                    self.out.append(Stmt(STMT, words, piece, self._cur_file, self._cur_line))
            elif piece_kind == "{":
                self._open_brace(self._cur_file, self._cur_line)
            else:
                self._close_brace(self._cur_file, self._cur_line)

    def _include_check(self, args: list[str]) -> None:
        """global_defs ``include_check``: the default strictness of later includes in this
        file (and the files it includes); restored when the file ends, as keepalived does."""
        names = {"readable": "r", "match": "m", "wildcard_match": "w", "brace_match": "b"}
        if not args:
            self.include_check = "rmwb"
            return
        cur = set(self.include_check)
        for i, w in enumerate(args):
            sign = w[0] if w[:1] in "+-" else ""
            flag = names.get(w[1:] if sign else w)
            if flag is None:
                continue  # reported by the keyword handler
            if sign == "-":
                cur.discard(flag)
            elif sign == "+" or i > 0:
                cur.add(flag)
            else:
                cur = {flag}
        self.include_check = "".join(sorted(cur))

    def _open_brace(self, file: str, line: int) -> None:
        self._brace_depth += 1
        out = self.out
        if out and out[-1].type is STMT:
            out[-1].type = OPEN
            if out[-1].line != line:
                out[-1].brace_line = line
        else:
            out.append(Stmt(LBRACE, [], "{", file, line))

    def _close_brace(self, file: str, line: int) -> None:
        if self._brace_depth == 0:
            self._diag("error", "Extra '}' found", "brace", line)
            # keepalived then reads it as a keyword of the top level, which has none such
            self._diag("error", "Unknown keyword '}'", "unknown-keyword", line)
            return
        self._brace_depth -= 1
        self.out.append(Stmt(RBRACE, [], "}", file, line))

    def _emit_braced(self, raw: str, name: str, lineno: int) -> None:
        """Fast path for a line with braces but no quotes, comments or substitutions."""
        self._cur_line = lineno
        if raw.lstrip().startswith("include"):
            self._emit(raw.strip(_WS), self.defs.get("_PWD", "") or "")  # type: ignore[arg-type]
            return
        out = self.out
        for piece in _BRACE_RE.split(raw):
            if piece == "{":
                self._open_brace(name, lineno)
            elif piece == "}":
                self._close_brace(name, lineno)
            else:
                words = _words(piece)
                if words:
                    out.append(Stmt(STMT, words, piece.strip(_WS), name, lineno))

    # ------------------------------------------------------------------ substitution

    def _lookup(self, name: str, params: str | None) -> str | list[str] | None:
        if name == "_INSTANCE":
            return self.config_id
        if name == "_HASH":
            return "#"
        if name == "_BANG":
            return "!"
        if name == "_ENV":
            if not params:
                return None
            return self.env.get(params.strip(_WS), "")
        if name == "_RANDOM":
            lo, hi = 0, 32767
            parts = _words(params or "")
            try:
                if len(parts) >= 1:
                    lo = int(parts[0])
                if len(parts) >= 2:
                    hi = int(parts[1])
            except ValueError:
                return None
            if lo > hi:
                lo, hi = hi, lo
            return str(self.rng.randint(lo, hi))
        if params:
            return None
        return self.defs.get(name)

    def _substitute(self, text: str) -> tuple[str, list[str]]:
        """Replace definitions in ``text``; a multi-line definition ending the line
        contributes its first line here and its other lines as the second result."""
        extra: list[str] = []
        count = 0
        pos = 0
        while True:
            i = text.find("$", pos)
            if i < 0 or i + 1 >= len(text):
                break
            if count > MAX_SUBSTITUTIONS:
                self.error("Too many substitutions on one line - stopping", "invalid-value")
                break
            nxt = text[i + 1]
            value: str | list[str] | None
            if nxt == "{":
                close = text.find("}", i + 2)
                if close < 0:
                    pos = i + 1
                    continue
                inner = text[i + 2 : close].strip(_WS)
                m = _NAME_RE.match(inner)
                if m is None:
                    pos = i + 1
                    continue
                name = m.group(0)
                params = inner[m.end() :].strip(_WS) or None
                end = close + 1
            else:
                m = _NAME_RE.match(text, i + 1)
                if m is None:
                    pos = i + 1
                    continue
                end = m.end()
                if end < len(text) and text[end] not in " \t,)":
                    pos = i + 1
                    continue
                name = m.group(0)
                params = None
            value = self._lookup(name, params)
            if value is None:
                pos = i + 1
                continue
            count += 1
            if isinstance(value, list):
                if text[end:].strip(_WS):
                    # a multi-line definition is only expanded when it ends the line
                    pos = i + 1
                    continue
                first = value[0] if value else ""
                extra = value[1:] + extra
                text = text[:i] + first
                pos = i
                continue
            text = text[:i] + value + text[end:]
            if value.lstrip().startswith("~"):
                break
            pos = i
        return text, extra

    # ------------------------------------------------------------------ generators

    def _generator(self, text: str, m: re.Match[str], base_dir: str, nesting: int) -> None:
        kind = m.group(1)
        close = _find_close_paren(text, m.end())
        if close < 0:
            self.error(f"~{kind} missing ')'", "invalid-value")
            return
        args_text = text[m.end() : close]
        rest = text[close + 1 :].strip(_WS)
        if "$" in args_text:
            args_text, _ = self._substitute(args_text)
        if kind == "LST":
            assignments = self._lst_values(args_text)
        else:
            assignments = self._seq_values(kind, args_text)
        if assignments is None:
            return
        if len(assignments) > MAX_EXPANSION_LINES:
            self.error(f"~{kind} produces too many lines - ignoring", "invalid-value")
            return
        for assign in assignments:
            for name, value in assign:
                self.defs[name] = value
            if rest:
                self._process(rest, base_dir, nesting + 1)

    def _seq_values(self, kind: str, args_text: str) -> list[list[tuple[str, str]]] | None:
        parts = [p.strip(_WS) for p in args_text.split(",")]
        if len(parts) < 2 or len(parts) > 4 or not _NAME_RE.fullmatch(parts[0]):
            self.error(f"~{kind} requires (VAR, [START, [STEP,]] END)", "invalid-value")
            return None
        var = parts[0]
        try:
            nums = [int(p, 0) if not _is_plain_decimal(p) else int(p, 10) for p in parts[1:]]
        except ValueError:
            self.error(f"~{kind} invalid number in '{args_text}'", "invalid-number")
            return None
        if len(nums) == 1:
            end = nums[0]
            start = 1 if end >= 0 else -1
            step = 1 if end >= start else -1
        elif len(nums) == 2:
            start, end = nums
            step = 1 if end >= start else -1
        else:
            start, step, end = nums
        if step == 0 or (step > 0 and start > end) or (step < 0 and start < end):
            self.error(f"~{kind} step {step} does not lead from {start} to {end}", "invalid-value")
            return None
        count = (end - start) // step + 1
        if count > MAX_EXPANSION_LINES:
            self.error(f"~{kind} produces too many lines - ignoring", "invalid-value")
            return None
        out: list[list[tuple[str, str]]] = []
        for v in range(start, end + (1 if step > 0 else -1), step):
            if kind == "SEQx":
                if v < 0:
                    self.error("~SEQx values must not be negative", "invalid-value")
                    return None
                out.append([(var, format(v, "x"))])
            else:
                out.append([(var, str(v))])
        return out

    def _lst_values(self, args_text: str) -> list[list[tuple[str, str]]] | None:
        groups = _split_lst(args_text)
        if groups is None or len(groups) < 2:
            self.error("~LST requires (VAR, VALUE, ...)", "invalid-value")
            return None
        names = groups[0]
        if not names or not all(_NAME_RE.fullmatch(n) for n in names):
            self.error(f"~LST invalid variable name in '{args_text}'", "invalid-value")
            return None
        out: list[list[tuple[str, str]]] = []
        for values in groups[1:]:
            out.append([(n, values[k] if k < len(values) else "") for k, n in enumerate(names)])
        return out

    # ------------------------------------------------------------------ include

    def _include(self, text: str, base_dir: str) -> None:
        word, _, pattern = text.partition(" ")
        if not pattern:
            word, _, pattern = text.partition("\t")
        pattern = pattern.strip(_WS)
        flags = set(_INCLUDE_WORDS.get(word, "")) | set(self.include_check)
        if not pattern:
            self.error(f"No filename specified for {word}", "include")
            return
        has_wild = any(c in pattern for c in "*?[")
        matches = _expand_glob(pattern, base_dir)
        if not matches:
            # keepalived 2.2.7: a required include that matches nothing makes -t exit 6; a
            # plain one is reported (without changing -t) when it names no file or its
            # directory does not exist, and is silent when a wildcard just matches nothing
            if "w" in flags or ("m" in flags and not has_wild):
                self.error(f"Config files missing '{pattern}'.", "include-required")
            else:
                full = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
                if not has_wild or not os.path.isdir(os.path.dirname(full)):
                    self.error(f"Config files missing '{pattern}'.", "file-missing")
            return
        if "b" in flags and "{" in pattern:
            for alt in _brace_expand(pattern):
                if not _expand_glob(alt, base_dir):
                    self.error(f"Include brace alternative '{alt}' matched no file", "include")
        for path in matches:
            try:
                st = os.stat(path)
            except OSError as exc:
                if "r" in flags:
                    self.error(f"Unable to stat config file '{path}': {exc.strerror}", "include")
                continue
            if not stat.S_ISREG(st.st_mode):
                if "r" in flags:
                    self.error(f"Configuration file '{path}' is not a regular file", "include")
                continue
            if st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
                self.error(f"Configuration file '{path}' is executable - ignoring", "include")
                continue
            if not os.access(path, os.R_OK):
                if "r" in flags:
                    self.error(f"Configuration file '{path}' is not readable", "include")
                continue
            self._read_file(path)


# ---------------------------------------------------------------------- pure helpers


def _is_plain_decimal(s: str) -> bool:
    t = s[1:] if s[:1] in "+-" else s
    return t.isdigit() and not (len(t) > 1 and t[0] == "0")


def _find_close_paren(text: str, start: int) -> int:
    depth = 1
    for i in range(start, len(text)):
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_lst(args: str) -> list[list[str]] | None:
    """``{A,B}, {1,2}, 3`` → ``[["A","B"], ["1","2"], ["3"]]``."""
    groups: list[list[str]] = []
    i = 0
    n = len(args)
    while i < n:
        while i < n and args[i] in " \t":
            i += 1
        if i >= n:
            break
        if args[i] == "{":
            close = args.find("}", i)
            if close < 0:
                return None
            groups.append([p.strip(_WS) for p in args[i + 1 : close].split(",")])
            i = close + 1
            while i < n and args[i] in " \t":
                i += 1
            if i < n and args[i] != ",":
                return None
            i += 1
        else:
            comma = args.find(",", i)
            if comma < 0:
                comma = n
            groups.append([args[i:comma].strip(_WS)])
            i = comma + 1
    return groups


def _split_braces(text: str) -> Iterator[tuple[str, str]]:
    """Split a line at every ``{``/``}`` that is not inside double quotes."""
    if "{" not in text and "}" not in text:
        yield "s", text
        return
    start = 0
    in_quote = False
    for i, c in enumerate(text):
        if c == '"':
            in_quote = not in_quote
        elif not in_quote and c in "{}":
            piece = text[start:i].strip(_WS)
            if piece:
                yield "s", piece
            yield c, c
            start = i + 1
    piece = text[start:].strip(_WS)
    if piece:
        yield "s", piece


def _tokenise(text: str) -> tuple[list[str], bool]:
    """keepalived's generic tokenizer; returns (words, had an unmatched quote)."""
    if '"' not in text:
        return _words(text), False
    words: list[str] = []
    i = 0
    n = len(text)
    bad = False
    while i < n:
        c = text[i]
        if c in " \t\f\n\r\v":
            i += 1
            continue
        if c == '"':
            close = text.find('"', i + 1)
            if close < 0:
                bad = True
                words.append(text[i + 1 :])
                break
            words.append(text[i + 1 : close])
            i = close + 1
            continue
        j = i
        while j < n and text[j] not in ' \t\f\n\r\v"':
            j += 1
        words.append(text[i:j])
        i = j
    return words, bad


def _brace_expand(pattern: str) -> list[str]:
    """csh-style ``{a,b}`` expansion (nested braces allowed)."""
    depth = 0
    start = -1
    for i, c in enumerate(pattern):
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1 : i]
                alts: list[str] = []
                d = 0
                last = 0
                for k, ch in enumerate(inner):
                    if ch == "{":
                        d += 1
                    elif ch == "}":
                        d -= 1
                    elif ch == "," and d == 0:
                        alts.append(inner[last:k])
                        last = k + 1
                alts.append(inner[last:])
                if len(alts) == 1:
                    continue
                head, tail = pattern[:start], pattern[i + 1 :]
                out: list[str] = []
                for a in alts:
                    out.extend(_brace_expand(head + a + tail))
                return out
    return [pattern]


def _expand_glob(pattern: str, base_dir: str) -> list[str]:
    """Glob ``pattern`` relative to ``base_dir``; sorted per brace alternative."""
    out: list[str] = []
    seen: set[str] = set()
    for alt in _brace_expand(pattern):
        full = alt if os.path.isabs(alt) else os.path.join(base_dir, alt)
        if any(c in alt for c in "*?["):
            found = sorted(_glob.glob(full))
        else:
            found = [full] if os.path.lexists(full) else []
        for f in found:
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


def preprocess_text(
    text: str,
    *,
    config_id: str = "",
    name: str = "<string>",
    env: dict[str, str] | None = None,
    seed: int | None = None,
) -> tuple[list[Stmt], list[Diagnostic]]:
    """Convenience for tests: preprocess ``text``; returns (statements, diagnostics)."""
    pp = Preprocessor(
        config_id=config_id,
        env=dict(os.environ) if env is None else env,
        rng=random.Random(seed),
    )
    out = pp.run_text(text, name)
    return out, pp.diagnostics
