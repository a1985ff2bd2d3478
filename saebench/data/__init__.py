"""Text sources and their tokenisation into fixed-length contexts."""
