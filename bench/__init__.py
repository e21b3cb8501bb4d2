"""`python -m bench.run`: the issue-5 benchmark (ceiling, naive baseline, evpipe, dashboard).

Modules: run (command line and step order), proc (timed subprocesses with peak RSS), database
(the server and throw-away databases), ceiling, naive, pipeline (evpipe steps), dash_probe
(dashboard callbacks in-process), dash_plan (request plans), dash_load (gunicorn under load),
report (ratios, targets, table, JSON). See docs/bench.md.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "services"
