"""Imported once by the forkserver, before it forks any child: the actor shells' modules.

Every child is forked from the forkserver, so whatever the forkserver has imported is
shared copy-on-write by all of them instead of being imported (and paid for) again in
each process. Importing a module creates no sockets, threads or netlink state, so the
"nothing inherited across fork" rule still holds. A shell that fails to import is
skipped here; the child that needs it reports the error when it starts. Finally the
collector is frozen so the children's collections do not write to (and so copy) the
shared objects.
"""

from __future__ import annotations

import contextlib
import gc
import importlib

from pykeepalived.actors.base import ACTOR_CLASSES

for _path in ACTOR_CLASSES.values():
    with contextlib.suppress(Exception):
        importlib.import_module(_path.partition(":")[0])

gc.collect()
gc.freeze()
