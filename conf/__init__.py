"""keepalived.conf: preprocessing, lark shape grammar, keyword tables and the typed model.

Public entry points::

    from pykeepalived.conf import load, Diagnostic, LoadResult
    result = load("/etc/keepalived/keepalived.conf", config_id="main", interfaces={"eth0"})
    result.config        # pykeepalived.conf.model.Config, or None if the main file is missing
    result.diagnostics   # [Diagnostic(severity, file, line, message, code), ...]
    result.exit_code     # what Debian's keepalived 2.2.7 -t would return (0, 5, 6)
    result.ok            # nothing but advice was reported

    from pykeepalived.conf.dump import dump_text, dump_json     # -d and data dumps
    from pykeepalived.conf.cli import config_test               # -t[FILE]

The pipeline, one module per step:

* ``preprocess`` — comments, quotes, ``@id`` lines, ``$NAME`` definitions, ``~SEQ``/``~LST``,
  ``include``; braces split off; brace balance repaired. Output: ``Stmt`` tokens.
* ``shape`` + ``shape.lark`` — lark's LALR parser nests the tokens into blocks.
* ``registry`` + ``keywords/*`` — keyword tables per block (each feature registers its
  own) and the one recursive walk that applies them, with keepalived's messages.
* ``keywords/*.finalize`` — defaults, inheritance and completion checks → ``model``.
* ``security`` (script checks), ``lint`` (advice), ``diagnostics`` (codes, exit code).
"""

from pykeepalived.conf.diagnostics import Diagnostic, LoadResult
from pykeepalived.conf.loader import load, load_text

__all__ = ["Diagnostic", "LoadResult", "load", "load_text"]
