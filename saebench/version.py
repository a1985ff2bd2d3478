"""saebench's version: a leaf, so that records (the lowest layer) stamp it without importing
the package's public face (``saebench.__version__`` is this same value)."""

__version__ = "0.1.0"
