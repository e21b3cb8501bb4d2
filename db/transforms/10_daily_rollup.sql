-- builds: processed_daily_rollup
-- mode: additive
-- Sums and counts only, so new raw rows (id range) can be folded into the existing rollup.
INSERT INTO {target} (
  session_date, charging_station_id, location, charger_type, user_type,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions,
  duration_hours, duration_sessions, charging_hours, temperature_c, temperature_sessions)
SELECT SQL_BIG_RESULT DATE(charging_start_time),
       charging_station_id,
       COALESCE(charging_station_location, 'Unknown'),
       COALESCE(charger_type, 'Unknown'),
       COALESCE(user_type, 'Unknown'),
       COUNT(*),
       COALESCE(SUM(energy_consumed_kwh), 0), COUNT(energy_consumed_kwh),
       COALESCE(SUM(cost_usd), 0), COUNT(cost_usd),
       SUM(COALESCE(charging_duration_hours,
                    TIMESTAMPDIFF(SECOND, charging_start_time, charging_end_time) / 3600)),
       COUNT(*),
       SUM(TIMESTAMPDIFF(SECOND, charging_start_time, charging_end_time) / 3600),
       COALESCE(SUM(temperature_c), 0), COUNT(temperature_c)
FROM raw_data
WHERE id > %(from_id)s AND id <= %(to_id)s
GROUP BY 1, 2, 3, 4, 5
ON DUPLICATE KEY UPDATE
  sessions             = sessions + VALUES(sessions),
  energy_kwh           = energy_kwh + VALUES(energy_kwh),
  energy_sessions      = energy_sessions + VALUES(energy_sessions),
  cost_usd             = cost_usd + VALUES(cost_usd),
  cost_sessions        = cost_sessions + VALUES(cost_sessions),
  duration_hours       = duration_hours + VALUES(duration_hours),
  duration_sessions    = duration_sessions + VALUES(duration_sessions),
  charging_hours       = charging_hours + VALUES(charging_hours),
  temperature_c        = temperature_c + VALUES(temperature_c),
  temperature_sessions = temperature_sessions + VALUES(temperature_sessions);
