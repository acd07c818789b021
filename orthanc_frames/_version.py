"""The package's version, in the lowest layer so that every layer may read it."""

__version__ = "0.1.0"
