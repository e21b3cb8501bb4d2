"""The evpipe dashboard: a Dash app over the marts and rollups (see docs/dashboard.md)."""
