"""``python -m tests.integration.runtime.toyd ARGS``: the real pykeepalived command line,
with the children named in ``$PKTEST_ACTORS`` (JSON: name -> "module:Class") replaced."""

from __future__ import annotations

import json
import os
import sys

from pykeepalived.actors.parent import actor as parent_actor
from pykeepalived.cli import main

if __name__ == "__main__":
    parent_actor.ACTOR_OVERRIDES.update(json.loads(os.environ.get("PKTEST_ACTORS", "{}")))
    sys.exit(main())
