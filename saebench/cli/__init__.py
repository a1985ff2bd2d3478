"""The ``saebench`` command: one module per command group, each thin."""
