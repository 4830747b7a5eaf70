"""The version of lazyarray (graph documents record the one that wrote them)."""

__version__ = "0.1.0"
