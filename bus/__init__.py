"""The bus: envelope, msgpack codec and ZeroMQ transport shared by every actor."""
