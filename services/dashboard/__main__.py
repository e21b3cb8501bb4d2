"""`python -m dashboard`: the dashboard on http://127.0.0.1:8050 (DASH_HOST / DASH_PORT)."""

import os

from dashboard.app import DEBUG, app

app.run(
    host=os.environ.get("DASH_HOST", "127.0.0.1"),
    port=int(os.environ.get("DASH_PORT", "8050")),
    debug=DEBUG,
)
