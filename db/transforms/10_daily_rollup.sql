-- builds: processed_daily_rollup
-- mode: additive
-- Sums and counts only, so new raw rows (id range) can be folded into the existing rollup.
-- plugged = the session's interval (plug-in to plug-out), measured in UTC where the export
-- places it in time (so a night with a clock change is as long as it really was).
-- Charging time counts only where the export reports it; idle time (plugged - charging) only
-- where it also has a plug-out time and the charging time fits in the interval (as the
-- sessions view defines idle_hours, db/init/004_session_model.sql).
INSERT INTO {target} (
  session_date, charging_station_id, port_id, location, charger_type, user_type,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh,
  duration_hours, duration_sessions, charging_hours, temperature_c, temperature_sessions,
  idle_hours, idle_plugged_hours, idle_sessions)
SELECT SQL_BIG_RESULT DATE(s.charging_start_time),
       s.station, s.port, s.location, s.charger_type, s.user_type,
       COUNT(*),
       COALESCE(SUM(s.energy_consumed_kwh), 0), COUNT(s.energy_consumed_kwh),
       COALESCE(SUM(s.cost_usd), 0), COUNT(s.cost_usd),
       COALESCE(SUM(IF(s.cost_usd IS NULL, NULL, s.energy_consumed_kwh)), 0),
       COALESCE(SUM(s.charging_duration_hours), 0), COUNT(s.charging_duration_hours),
       SUM(s.plugged),
       COALESCE(SUM(s.temperature_c), 0), COUNT(s.temperature_c),
       COALESCE(SUM(IF(s.idle_known,
                       GREATEST(s.plugged - s.charging_duration_hours, 0), NULL)), 0),
       COALESCE(SUM(IF(s.idle_known, s.plugged, NULL)), 0),
       COALESCE(SUM(s.idle_known), 0)
FROM (
  SELECT charging_start_time, energy_consumed_kwh, cost_usd, charging_duration_hours,
         temperature_c,
         COALESCE(charging_station_id, 'Unknown') AS station,
         COALESCE(port_id, '') AS port,
         COALESCE(charging_station_location, 'Unknown') AS location,
         COALESCE(charger_type, 'Unknown') AS charger_type,
         COALESCE(user_type, 'Unknown') AS user_type,
         TIMESTAMPDIFF(SECOND, COALESCE(start_utc, charging_start_time),
                       COALESCE(end_utc, charging_end_time)) / 3600 AS plugged,
         plug_out_known = 1 AND charging_duration_hours IS NOT NULL
           AND charging_duration_hours <= TIMESTAMPDIFF(SECOND,
                 COALESCE(start_utc, charging_start_time),
                 COALESCE(end_utc, charging_end_time)) / 3600 + 0.25 AS idle_known
  FROM raw_data
  WHERE id > %(from_id)s AND id <= %(to_id)s
) s
GROUP BY 1, 2, 3, 4, 5, 6
ON DUPLICATE KEY UPDATE
  sessions             = sessions + VALUES(sessions),
  energy_kwh           = energy_kwh + VALUES(energy_kwh),
  energy_sessions      = energy_sessions + VALUES(energy_sessions),
  cost_usd             = cost_usd + VALUES(cost_usd),
  cost_sessions        = cost_sessions + VALUES(cost_sessions),
  cost_energy_kwh      = cost_energy_kwh + VALUES(cost_energy_kwh),
  duration_hours       = duration_hours + VALUES(duration_hours),
  duration_sessions    = duration_sessions + VALUES(duration_sessions),
  charging_hours       = charging_hours + VALUES(charging_hours),
  temperature_c        = temperature_c + VALUES(temperature_c),
  temperature_sessions = temperature_sessions + VALUES(temperature_sessions),
  idle_hours           = idle_hours + VALUES(idle_hours),
  idle_plugged_hours   = idle_plugged_hours + VALUES(idle_plugged_hours),
  idle_sessions        = idle_sessions + VALUES(idle_sessions);
