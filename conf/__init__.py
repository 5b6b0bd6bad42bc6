"""keepalived.conf: preprocessing, lark shape grammar, keyword tables and the typed model."""
