"""mailroom: email in, documents out."""

__version__ = "0.1.0"
