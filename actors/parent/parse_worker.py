"""The short-lived config-parsing process: ``python -m pykeepalived.actors.parent.parse_worker``.

The parent never parses in its own loop (a big config would stall the broker). It runs this
module as a child, which loads the file and writes the pickled ``LoadResult`` to stdout.
"""

from __future__ import annotations

import pickle
import sys


def main(argv: list[str]) -> int:
    try:
        from pykeepalived.conf import load
    except ImportError:  # the package does not re-export it yet
        from pykeepalived.conf.loader import load

    path = argv[0]
    config_id = argv[1] if len(argv) > 1 and argv[1] else None
    result = load(path, config_id=config_id)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
