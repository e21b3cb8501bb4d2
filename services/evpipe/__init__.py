"""evpipe: load EV charging-session CSV exports into MySQL exactly once and build marts."""

__version__ = "0.1.0"
