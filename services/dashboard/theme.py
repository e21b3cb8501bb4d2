"""The page shell's HTML and CSS, inlined so that an installed package needs no asset files."""

CSS = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f4f6f8; --card:#ffffff;
  --teal:#0f766e; --teal-soft:#ccfbf1; --blue:#2563eb; --amber:#b45309; --red:#b91c1c; }
* { box-sizing: border-box; }
html, body { margin:0; background:var(--bg); color:var(--ink);
  font-family: Inter, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size:14px; }
.app { min-height:100vh; display:flex; flex-direction:column; }
.topbar { display:flex; align-items:center; gap:28px; padding:0 28px; height:56px;
  background:#0b3b36; color:#ecfeff; position:sticky; top:0; z-index:20;
  box-shadow:0 1px 3px rgba(0,0,0,.15); }
.brand { display:flex; align-items:center; gap:8px; font-weight:650; font-size:16px;
  letter-spacing:.2px; white-space:nowrap; }
.brand-mark { color:#5eead4; font-size:18px; }
.nav { display:flex; gap:4px; }
.nav-link { color:#cbd5e1; text-decoration:none; padding:7px 12px; border-radius:8px;
  font-weight:500; white-space:nowrap; }
.nav-link:hover { color:#fff; background:rgba(255,255,255,.08); }
.nav-link.active { color:#fff; background:rgba(94,234,212,.18); }
.data-status { margin-left:auto; color:#99f6e4; font-size:12.5px; white-space:nowrap; }
.filters { display:flex; flex-wrap:wrap; gap:14px 18px; align-items:flex-end; padding:14px 28px;
  background:#fff; border-bottom:1px solid var(--line); position:sticky; top:56px; z-index:15; }
.filter { display:flex; flex-direction:column; gap:4px; min-width:220px; flex:1 1 220px; }
.filter-dates { flex:0 0 auto; min-width:280px; }
.filter-label { font-size:11.5px; font-weight:600; color:var(--muted); text-transform:uppercase;
  letter-spacing:.5px; }
.page { padding:22px 28px 8px; flex:1; width:100%; max-width:1480px; margin:0 auto; }
.read-notice { padding:16px 28px 0; width:100%; max-width:1480px; margin:0 auto; }
.read-notice:empty { display:none; }
.read-notice .notice { margin:0; }
.page-title { font-size:20px; font-weight:650; margin:0 0 14px; }
.muted { color:var(--muted); font-size:13px; margin:0 0 10px; }
.kpis { display:grid; grid-template-columns:repeat(5, minmax(0, 1fr)); gap:14px;
  margin-bottom:16px; }
.kpis-4 { grid-template-columns:repeat(4, minmax(0, 1fr)); }
.kpi { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:14px 16px;
  box-shadow:0 1px 2px rgba(16,24,40,.04); }
.kpi-label { font-size:12px; color:var(--muted); font-weight:600; text-transform:uppercase;
  letter-spacing:.4px; }
.kpi-value { font-size:26px; font-weight:680; margin-top:6px; color:var(--ink);
  font-variant-numeric: tabular-nums; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.kpi-hint { font-size:12px; color:var(--muted); margin-top:2px; min-height:15px; }
.grid { display:grid; gap:16px; margin-bottom:16px; }
.grid-2 { grid-template-columns:repeat(2, minmax(0, 1fr)); }
.grid-3 { grid-template-columns:repeat(3, minmax(0, 1fr)); }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:10px 14px;
  box-shadow:0 1px 2px rgba(16,24,40,.04); margin-bottom:16px; min-width:0; }
.grid > .card { margin-bottom:0; }
.card-title { font-size:15px; font-weight:620; margin:6px 0 10px; }
.chart-note { color:var(--muted); font-size:12.5px; margin:4px 4px 6px; }
.toolbar { display:flex; align-items:center; gap:12px; padding:6px 4px 4px; }
.toolbar-split { justify-content:space-between; }
.radio label { margin-right:14px; cursor:pointer; }
.radio input { margin-right:5px; accent-color:var(--teal); }
.button { background:var(--teal); color:#fff; border:0; border-radius:8px; padding:8px 14px;
  font-weight:600; cursor:pointer; font-size:13px; }
.button:hover { background:#115e59; }
.notice { border-radius:10px; padding:12px 16px; margin:0 0 16px; border:1px solid; }
.notice p { margin:0; }
.notice code { background:rgba(0,0,0,.06); padding:1px 5px; border-radius:4px; }
.notice-info { background:#eff6ff; border-color:#bfdbfe; color:#1e3a8a; }
.notice-error { background:#fef2f2; border-color:#fecaca; color:#7f1d1d; }
.footer { color:var(--muted); font-size:12px; padding:10px 28px 18px; text-align:center; }
.footer code { font-size:11.5px; }
@media (max-width: 1100px) {
  .kpis { grid-template-columns:repeat(2, minmax(0, 1fr)); }
  .grid-2, .grid-3 { grid-template-columns:1fr; }
  .data-status { display:none; }
}
"""

INDEX = (
    """<!DOCTYPE html>
<html lang="en">
  <head>
    {%metas%}
    <title>{%title%}</title>
    {%favicon%}
    {%css%}
    <style>"""
    + CSS
    + """</style>
  </head>
  <body>
    {%app_entry%}
    <footer>
      {%config%}
      {%scripts%}
      {%renderer%}
    </footer>
  </body>
</html>
"""
)
