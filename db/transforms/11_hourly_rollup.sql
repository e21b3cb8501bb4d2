-- builds: processed_hourly_rollup
-- mode: additive
INSERT INTO {target} (
  session_date, hour_of_day, location, charger_type, user_type,
  sessions, energy_kwh, energy_sessions)
SELECT SQL_BIG_RESULT DATE(charging_start_time),
       HOUR(charging_start_time),
       COALESCE(charging_station_location, 'Unknown'),
       COALESCE(charger_type, 'Unknown'),
       COALESCE(user_type, 'Unknown'),
       COUNT(*),
       COALESCE(SUM(energy_consumed_kwh), 0), COUNT(energy_consumed_kwh)
FROM raw_data
WHERE id > %(from_id)s AND id <= %(to_id)s
GROUP BY 1, 2, 3, 4, 5
ON DUPLICATE KEY UPDATE
  sessions        = sessions + VALUES(sessions),
  energy_kwh      = energy_kwh + VALUES(energy_kwh),
  energy_sessions = energy_sessions + VALUES(energy_sessions);
