-- builds: processed_station_metrics
-- mode: derived
-- fold-min: first_session_date
-- fold-max: last_session_date
-- fold-keep: avg_energy_kwh, avg_duration_hr, avg_cost_usd, avg_temp_c, most_common_charger_type
-- The sums fold; the averages (sum / count) and the most common charger type (ties go to the
-- alphabetically first) are recomputed for the stations whose sums changed, after the fold.
INSERT INTO {target} (
  station_id, location, total_sessions, total_energy_kwh, total_cost_usd,
  energy_sessions, cost_sessions, duration_hours, duration_sessions, temperature_c_sum,
  temperature_sessions, first_session_date, last_session_date)
SELECT charging_station_id, location,
       SUM(sessions), SUM(energy_kwh), SUM(cost_usd),
       SUM(energy_sessions), SUM(cost_sessions), SUM(duration_hours), SUM(duration_sessions),
       SUM(temperature_c), SUM(temperature_sessions),
       MIN(session_date), MAX(session_date)
FROM {rows:processed_daily_rollup}
GROUP BY charging_station_id, location;

-- finish
UPDATE {target} t
JOIN (SELECT DISTINCT station_id, location FROM {changed}) c
  ON c.station_id = t.station_id AND c.location = t.location
SET t.avg_energy_kwh = t.total_energy_kwh / NULLIF(t.energy_sessions, 0),
    t.avg_duration_hr = t.duration_hours / NULLIF(t.duration_sessions, 0),
    t.avg_cost_usd = t.total_cost_usd / NULLIF(t.cost_sessions, 0),
    t.avg_temp_c = t.temperature_c_sum / NULLIF(t.temperature_sessions, 0),
    t.most_common_charger_type = (
      SELECT ct.charger_type FROM {table:processed_station_charger_types} ct
      WHERE ct.station_id = t.station_id AND ct.location = t.location
      ORDER BY ct.sessions DESC, ct.charger_type
      LIMIT 1);
