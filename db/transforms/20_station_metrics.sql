-- builds: processed_station_metrics
-- mode: rebuild
INSERT INTO {target} (
  station_id, location, total_sessions, total_energy_kwh, total_cost_usd,
  avg_energy_kwh, avg_duration_hr, avg_cost_usd, avg_temp_c, most_common_charger_type,
  first_session_date, last_session_date)
SELECT r.charging_station_id, r.location,
       SUM(r.sessions), SUM(r.energy_kwh), SUM(r.cost_usd),
       SUM(r.energy_kwh) / NULLIF(SUM(r.energy_sessions), 0),
       SUM(r.duration_hours) / NULLIF(SUM(r.duration_sessions), 0),
       SUM(r.cost_usd) / NULLIF(SUM(r.cost_sessions), 0),
       SUM(r.temperature_c) / NULLIF(SUM(r.temperature_sessions), 0),
       MAX(mc.charger_type),
       MIN(r.session_date), MAX(r.session_date)
FROM processed_daily_rollup r
JOIN (
  -- ties go to the alphabetically first charger type, so the result is deterministic
  SELECT charging_station_id, location, charger_type,
         ROW_NUMBER() OVER (PARTITION BY charging_station_id, location
                            ORDER BY SUM(sessions) DESC, charger_type) AS rn
  FROM processed_daily_rollup
  GROUP BY charging_station_id, location, charger_type
) mc ON mc.charging_station_id = r.charging_station_id
    AND mc.location = r.location
    AND mc.rn = 1
GROUP BY r.charging_station_id, r.location;
