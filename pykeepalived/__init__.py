"""pykeepalived: keepalived rebuilt in Python as a multiprocessing actor system.

The distribution has one import namespace. The repository folders ``actors/``, ``bus/`` and
``conf/`` are installed as ``pykeepalived.actors``, ``pykeepalived.bus`` and
``pykeepalived.conf``; this root package holds the version and the command-line entry points.
"""

__version__ = "0.1.0"
