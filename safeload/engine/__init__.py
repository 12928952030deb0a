"""The pickle analysis engine: ``machine`` (opcode loop), ``semantics`` (what the load does, as facts),
``facts`` (uses per name, escape tracing); ``catalog/decide.py`` turns facts into findings."""
