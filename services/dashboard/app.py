"""The Dash app. gunicorn serves `dashboard.app:server`; `python -m dashboard` runs it natively.

Configuration comes from the environment (or .env): DB_HOST, DB_PORT, DB_NAME, DB_USER (the
read-only dashboard user in the stack), DB_PASSWORD; DASH_DEBUG=1 turns Dash's debug tools on.
"""

from __future__ import annotations

import logging
import os

import dash

from dashboard import shell, theme
from dashboard.pages import demand, health, overview, stations


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


DEBUG = env_flag("DASH_DEBUG")

if not logging.getLogger().handlers:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

app = dash.Dash(
    __name__,
    use_pages=True,
    pages_folder="",  # the pages register themselves below; no file scanning
    suppress_callback_exceptions=True,  # page components appear only when their page is shown
    title="EV charging analytics",
    update_title="",  # keep the tab title while callbacks run
)
app.index_string = theme.INDEX
for page in (overview, demand, stations, health):
    page.register()
shell.register()
app.layout = shell.layout

server = app.server
server.config["PROPAGATE_EXCEPTIONS"] = False  # a failure is a plain 500, never a stack trace

# Dash wires the registered callbacks into the app on its first request, and sets its "done"
# flag before it has finished: with gunicorn threads, concurrent first requests then fail with
# "Callback function not found". One request at import does the wiring before any client comes.
with server.test_client() as _warm_up:
    _warm_up.get("/_favicon.ico")

if DEBUG:
    app.enable_dev_tools(debug=True, dev_tools_hot_reload=False)
