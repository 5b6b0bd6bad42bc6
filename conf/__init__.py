"""keepalived.conf: preprocessing, lark shape grammar, keyword tables and the typed model.

Public entry points::

    from pykeepalived.conf import load, Diagnostic, LoadResult
    result = load("/etc/keepalived/keepalived.conf", config_id="main")
    result.config        # pykeepalived.conf.model.Config, or None if nothing could be read
    result.diagnostics   # [Diagnostic(severity, file, line, message, code), ...]
    result.exit_code     # what keepalived 2.2.7's -t would return (0, 5, 6)
"""

from pykeepalived.conf.diagnostics import Diagnostic, LoadResult
from pykeepalived.conf.loader import load, load_text

__all__ = ["Diagnostic", "LoadResult", "load", "load_text"]
