"""Ratios, the targets with PASS/FAIL, the printed tables and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RSS_LIMIT_MB = 500.0
RSS_GROWTH_TOLERANCE = 1.10  # "no more at 5M than at 1M", allowing 10 % sampling noise


def _get(steps: dict[str, Any], step: str, key: str = "seconds") -> float | None:
    value = steps.get(step, {}).get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _stage(steps: dict[str, Any], step: str, stage: str) -> float | None:
    value = steps.get(step, {}).get("stage_seconds", {}).get(stage)
    return float(value) if isinstance(value, (int, float)) else None


def touched(step: dict[str, Any] | None) -> int | None:
    """Rows the server read and wrote in a transform (its handler counters, every step)."""
    transform = (step or {}).get("transform")
    if not transform:
        return None
    return sum(c["rows_read"] + c["rows_written"] for c in transform["steps"].values())


def _per_new_row(step: dict[str, Any] | None) -> float | None:
    inserted = (step or {}).get("rows_inserted")
    return _div(touched(step), float(inserted) if inserted else None)


def ratios(steps: dict[str, Any]) -> dict[str, float | None]:
    """Transform ratios compare in-process stage times (pipeline_runs), the rest wall times."""
    ingest = _get(steps, "ingest")
    full = _stage(steps, "transform_full", "transform")
    large = steps.get("ingest_large", {})
    large_full = large.get("transform_full", {}) if isinstance(large, dict) else {}
    return {
        "ingest_over_ceiling": _div(ingest, _get(steps, "ceiling")),
        "ingest_over_keyed_ceiling": _div(ingest, _get(steps, "ceiling", "keyed_seconds")),
        "naive_over_ingest": _div(_get(steps, "naive_load"), ingest),
        "naive_reread_over_noop": _div(_get(steps, "naive_reread"), _get(steps, "noop_run")),
        "append_over_full": _div(
            _get(steps, "append_run"), (ingest or 0) + (_get(steps, "transform_full") or 0) or None
        ),
        "append_transform_over_full": _div(_get(steps, "append_run", "transform_s"), full),
        "rss_large_over_rss": _div(
            _get(steps, "ingest_large", "peak_rss_mb"), _get(steps, "ingest", "peak_rss_mb")
        ),
        # rows touched per new session: a cost that follows the new data keeps this flat
        "touched_per_new_row_small": _per_new_row(steps.get("small_append_run")),
        "touched_per_new_row_append": _per_new_row(steps.get("append_run")),
        "touched_per_new_row_small_over_append": _div(
            _per_new_row(steps.get("small_append_run")), _per_new_row(steps.get("append_run"))
        ),
        "touched_small_over_full": _div(
            touched(steps.get("small_append_run")), touched(steps.get("transform_full"))
        ),
        # the same new sessions on a history 10x larger: equal if the cost follows the new data
        "touched_small_large_over_small": _div(
            touched(large.get("small_append_run")), touched(steps.get("small_append_run"))
        ),
        "large_peak_rss_mb": max(
            (v for v in (large.get("peak_rss_mb"), large_full.get("peak_rss_mb")) if v),
            default=None,
        ),
        "large_completed": 1.0
        if large.get("rows_inserted") and large_full.get("seconds") is not None
        else None,
    }


def targets(steps: dict[str, Any]) -> list[dict[str, Any]]:
    r = ratios(steps)
    rss = _get(steps, "ingest", "peak_rss_mb")
    rows = [
        ("ingest time <= 2 x ceiling", r["ingest_over_ceiling"], "<=", 2.0, "x"),
        (">= 20 x faster than naive", r["naive_over_ingest"], ">=", 20.0, "x"),
        ("no-op re-run <= 1 s", _get(steps, "noop_run"), "<=", 1.0, "s"),
        ("full transform <= 10 s", _get(steps, "transform_full"), "<=", 10.0, "s"),
        ("run after 1 % append <= 5 % of full ingest + transform", r["append_over_full"], "<=",
         0.05, ""),
        ("transform after 1 % append <= 20 % of full", r["append_transform_over_full"], "<=",
         0.20, ""),
        ("rows touched by the same small append, large history / main size <= 1.5 (cost "
         "follows the new data, not the history)", r["touched_small_large_over_small"], "<=",
         1.5, "x"),
        ("peak RSS of ingest <= 500 MB", rss, "<=", RSS_LIMIT_MB, "MB"),
        ("large ingest + full transform completes", r["large_completed"], ">=", 1.0, ""),
        ("peak RSS of large ingest and transform <= 500 MB", r["large_peak_rss_mb"], "<=",
         RSS_LIMIT_MB, "MB"),
        ("peak RSS large / 1M <= 1.10 (no growth)", r["rss_large_over_rss"], "<=",
         RSS_GROWTH_TOLERANCE, "x"),
        ("dashboard callbacks p95 < 150 ms (slowest callback)",
         _get(steps, "dash_callbacks", "p95_ms_max"), "<", 150.0, "ms"),
    ]  # fmt: skip
    out = []
    for name, value, op, limit, unit in rows:
        if value is None:
            verdict = "n/a"
        elif op == "<=":
            verdict = "PASS" if value <= limit else "FAIL"
        elif op == "<":
            verdict = "PASS" if value < limit else "FAIL"
        else:
            verdict = "PASS" if value >= limit else "FAIL"
        out.append(
            {
                "target": name,
                "value": value,
                "op": op,
                "limit": limit,
                "unit": unit,
                "verdict": verdict,
            }
        )
    return out


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _row(name: str, step: dict[str, Any] | None, note: str = "") -> list[str]:
    if not step:
        return [name, "-", "-", "-", "not run"]
    if "skipped" in step or "error" in step:
        note = step.get("skipped") or f"ERROR: {str(step.get('error'))[:160]}"
        return [name, "-", "-", "-", note]
    seconds = step.get("seconds")
    limit = step.get("limit_s")
    shown = f"> {limit:g}" if step.get("finished") is False and limit else _fmt(seconds)
    return [name, shown, _fmt(step.get("rows_per_s"), 0), _fmt(step.get("peak_rss_mb"), 0), note]


def table(result: dict[str, Any]) -> str:
    s = result["steps"]
    rows = [["step", "seconds", "rows/s", "peak RSS MB", "notes"]]
    rows.append(
        _row(
            "1 ceiling: bare LOAD DATA, no key",
            s.get("ceiling"),
            f"best of {len(s.get('ceiling', {}).get('runs_s', []))}; with raw_data's unique "
            f"session key: {_fmt(s.get('ceiling', {}).get('keyed_seconds'))} s",
        )
    )
    rows.append(_row("2 naive: read_csv + to_sql(multi)", s.get("naive_load")))
    rows.append(_row("2 naive: re-read, nothing new", s.get("naive_reread")))
    rows.append(_row("2 naive: summary SQL (correlated)", s.get("naive_transform")))
    ing = s.get("ingest", {})
    rows.append(
        _row(
            "3 evpipe ingest, empty database",
            ing,
            f"inserted {_fmt(ing.get('rows_inserted'))}, "
            f"quarantined {_fmt(ing.get('rows_quarantined'))}",
        )
    )
    tf = s.get("transform_full", {})
    rows.append(
        _row(
            "6 evpipe transform --full",
            tf,
            f"in-process {_fmt(tf.get('stage_seconds', {}).get('transform'))} s",
        )
    )
    noop = s.get("noop_run", {})
    rows.append(
        _row(
            "4 evpipe run, nothing changed",
            noop,
            "stages " + json.dumps(noop.get("stage_seconds", {})),
        )
    )
    sm = s.get("small_append_run", {})
    rows.append(
        _row(
            "5a evpipe run after 0.1 % append",
            sm,
            f"+{_fmt(sm.get('rows_inserted'))} rows; ingest {_fmt(sm.get('ingest_s'))} s,"
            f" transform {_fmt(sm.get('transform_s'))} s, {_fmt(touched(sm))} rows touched",
        )
    )
    ap = s.get("append_run", {})
    rows.append(
        _row(
            "5 evpipe run after 1 % append",
            ap,
            f"+{_fmt(ap.get('rows_inserted'))} rows; ingest {_fmt(ap.get('ingest_s'))} s,"
            f" transform {_fmt(ap.get('transform_s'))} s",
        )
    )
    lg = s.get("ingest_large", {})
    rows.append(_row(f"7 evpipe ingest at {_fmt(lg.get('rows'))} rows", lg))
    if "rows" in lg:
        rows.append(
            _row(f"7 evpipe transform --full at {_fmt(lg['rows'])} rows", lg.get("transform_full"))
        )
    dc = s.get("dash_callbacks", {})
    if dc and "pages" in dc:
        for page, st in dc["pages"].items():
            rows.append(
                [
                    f"8 callbacks {page}",
                    "-",
                    "-",
                    "-",
                    f"p50 {_fmt(st['p50_ms'], 1)} ms, p95 {_fmt(st['p95_ms'], 1)} ms over "
                    f"{st['callbacks']} callbacks (n={st['n']}, errors {st['errors']}); "
                    f"slowest callback p95 {_fmt(st.get('worst_callback_p95_ms'), 1)} ms",
                ]
            )
    else:
        rows.append(_row("8 dashboard callbacks", dc))
    dl = s.get("dash_load", {})
    if dl and "requests" in dl:
        rows.append(
            [
                f"9 dashboard load, {dl['clients']} clients",
                _fmt(dl["seconds"], 1),
                "-",
                "-",
                f"{dl['requests']} requests ({dl['requests_per_s']:.0f}/s), "
                f"{dl['errors']} errors {dl.get('errors_by_kind') or ''}, "
                f"p95 {_fmt(dl['p95_ms'], 0)} ms "
                f"(callbacks p95 {_fmt(dl['callbacks']['p95_ms'], 0)} ms)",
            ]
        )
    else:
        rows.append(_row("9 dashboard load", dl))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, r in enumerate(rows):
        lines.append(
            "  ".join(
                [
                    r[0].ljust(widths[0]),
                    *(c.rjust(w) for c, w in zip(r[1:4], widths[1:4], strict=True)),
                    r[4],
                ]
            )
        )
        if i == 0:
            lines.append("-" * (sum(widths) + 8 + 40))
    return "\n".join(lines)


def _grid(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        )
        for r in rows
    ]
    lines.insert(1, "-" * (sum(widths) + 2 * (len(widths) - 1)))
    return "\n".join(lines)


def _transform_steps(step: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return ((step or {}).get("transform") or {}).get("steps", {})


def steps_table(result: dict[str, Any]) -> str:
    """Each transform step: seconds and rows read / written, full and after each append."""
    s = result["steps"]
    runs = [
        ("full", s.get("transform_full")),
        ("0.1 %", s.get("small_append_run")),
        ("1 %", s.get("append_run")),
    ]
    names: list[str] = []
    for _label, step in runs:
        names += [n for n in _transform_steps(step) if n not in names]
    if not names:
        return ""
    head = ["transform step"]
    for label, _step in runs:
        head += [f"{label} s", f"{label} read", f"{label} written"]
    rows = [head]
    for name in names:
        row = [name]
        for _label, step in runs:
            c = _transform_steps(step).get(name)
            row += (
                [_fmt(c["seconds"]), _fmt(c["rows_read"]), _fmt(c["rows_written"])]
                if c
                else ["-"] * 3
            )
        rows.append(row)
    total = ["all (rows per new session)"]
    for _label, step in runs:
        n = (step or {}).get("rows_inserted") or 0
        t = touched(step)
        total += ["", _fmt(t), f"({_fmt(t / n, 1)})" if t is not None and n else ""]
    rows.append(total)
    return _grid(rows)


def scaling_table(result: dict[str, Any]) -> str:
    """How each step grows from the main size to the large one. 'vs linear' is the growth over
    the growth in rows (1.00 = linear); the same small append and the peak RSS should not grow
    at all."""
    s = result["steps"]
    large = s.get("ingest_large", {})
    base_rows, large_rows = result["meta"]["data"]["rows"], large.get("rows")
    if not large_rows or "seconds" not in large:
        return ""
    factor = large_rows / base_rows
    full, large_full = s.get("transform_full", {}), large.get("transform_full", {})
    small, large_small = s.get("small_append_run", {}), large.get("small_append_run", {})
    # (name, at the main size, at the large size, whether it should grow with the rows)
    pairs: list[tuple[str, Any, Any, bool]] = [
        ("ingest s", s.get("ingest", {}).get("seconds"), large.get("seconds"), True),
        ("transform --full s", full.get("seconds"), large_full.get("seconds"), True),
    ]
    for name, c in _transform_steps(full).items():
        other = _transform_steps(large_full).get(name)
        pairs.append((f"  {name}", c["seconds"], other["seconds"] if other else None, True))
    pairs += [
        (
            f"run after +{_fmt(small.get('rows_inserted'))} sessions s",
            small.get("seconds"),
            large_small.get("seconds"),
            False,
        ),
        ("  rows its transform touched", touched(small), touched(large_small), False),
        ("peak RSS MB, ingest", s.get("ingest", {}).get("peak_rss_mb"), large.get("peak_rss_mb"),
         False),
        ("peak RSS MB, transform --full", full.get("peak_rss_mb"), large_full.get("peak_rss_mb"),
         False),
    ]  # fmt: skip
    rows = [["measure", f"{base_rows:,} rows", f"{large_rows:,} rows", "grew", "vs linear"]]
    for name, a, b, linear in pairs:
        grew = _div(b, a)
        rows.append(
            [
                name,
                _fmt(a),
                _fmt(b),
                f"x{_fmt(grew, 2)}" if grew else "-",
                _fmt(_div(grew, factor), 2) if grew and linear else "",
            ]
        )
    return _grid(rows)


def summary_text(result: dict[str, Any]) -> str:
    r = result["ratios"]
    lines = [
        table(result),
        "",
        "ratios: ingest/ceiling = "
        + _fmt(r["ingest_over_ceiling"])
        + " (over the keyed load: "
        + _fmt(r["ingest_over_keyed_ceiling"])
        + ")"
        + ", naive/ingest = "
        + _fmt(r["naive_over_ingest"], 1)
        + ", naive re-read / evpipe no-op = "
        + _fmt(r["naive_reread_over_noop"], 1),
    ]
    for title, text in (
        ("transform steps (rows from the server's handler counters)", steps_table(result)),
        ("scaling", scaling_table(result)),
    ):
        if text:
            lines += ["", f"{title}:", text]
    lines += ["", "targets:"]
    for t in result["targets"]:
        value = _fmt(t["value"], 3)
        lines.append(
            f"  [{t['verdict']:>4}] {t['target']}: {value} {t['unit']} "
            f"(limit {t['op']} {t['limit']:g})"
        )
    return "\n".join(lines)


def finish(result: dict[str, Any], json_out: Path) -> str:
    result["ratios"] = ratios(result["steps"])
    result["targets"] = targets(result["steps"])
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return summary_text(result)
