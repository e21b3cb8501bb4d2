-- builds: processed_daily_rollup
-- mode: rollup
-- fold-keep: charging_station_id, port_id, location, charger_type, user_type, seg_id
-- Sums and counts by day and dimension (station, port, location, charger type, user type; see
-- 006_dimensions.sql): grouped by one integer, then named (the names are the dimension's:
-- they do not fold). Sums only, so the rows of new
-- sessions fold into the existing rollup (evpipe.transform adds them up).
-- plugged = the session's interval (plug-in to plug-out), measured in UTC where the export
-- places it in time (so a night with a clock change is as long as it really was); in DOUBLE
-- (3600e0): DECIMAL sums are slower.
-- Charging time counts only where the export reports it; idle time (plugged - charging) only
-- where it also has a plug-out time and the charging time fits in the interval (as the
-- sessions view defines idle_hours, db/init/004_session_model.sql).
INSERT INTO {target} (
  session_date, dim_id, charging_station_id, port_id, location, charger_type, user_type, seg_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh,
  duration_hours, duration_sessions, charging_hours, temperature_c, temperature_sessions,
  idle_hours, idle_plugged_hours, idle_sessions)
SELECT a.session_date, a.dim_id, d.station_id, d.port_id, d.location, d.charger_type,
       d.user_type, d.seg_id,
       a.sessions, a.energy_kwh, a.energy_sessions, a.cost_usd, a.cost_sessions,
       a.cost_energy_kwh, a.duration_hours, a.duration_sessions, a.charging_hours,
       a.temperature_c, a.temperature_sessions, a.idle_hours, a.idle_plugged_hours,
       a.idle_sessions
FROM (
  SELECT DATE(s.charging_start_time) AS session_date, s.dim_id,
         COUNT(*) AS sessions,
         COALESCE(SUM(s.energy_consumed_kwh), 0) AS energy_kwh,
         COUNT(s.energy_consumed_kwh) AS energy_sessions,
         COALESCE(SUM(s.cost_usd), 0) AS cost_usd, COUNT(s.cost_usd) AS cost_sessions,
         COALESCE(SUM(IF(s.cost_usd IS NULL, NULL, s.energy_consumed_kwh)), 0)
           AS cost_energy_kwh,
         COALESCE(SUM(s.charging_duration_hours), 0) AS duration_hours,
         COUNT(s.charging_duration_hours) AS duration_sessions,
         SUM(s.plugged) AS charging_hours,
         COALESCE(SUM(s.temperature_c), 0) AS temperature_c,
         COUNT(s.temperature_c) AS temperature_sessions,
         COALESCE(SUM(IF(s.idle_known,
                         GREATEST(s.plugged - s.charging_duration_hours, 0), NULL)), 0)
           AS idle_hours,
         COALESCE(SUM(IF(s.idle_known, s.plugged, NULL)), 0) AS idle_plugged_hours,
         COALESCE(SUM(s.idle_known), 0) AS idle_sessions
  FROM (
    SELECT charging_start_time, dim_id, energy_consumed_kwh, cost_usd, charging_duration_hours,
           temperature_c,
           TIMESTAMPDIFF(SECOND, COALESCE(start_utc, charging_start_time),
                         COALESCE(end_utc, charging_end_time)) / 3600e0 AS plugged,
           plug_out_known = 1 AND charging_duration_hours IS NOT NULL
             AND charging_duration_hours <= TIMESTAMPDIFF(SECOND,
                   COALESCE(start_utc, charging_start_time),
                   COALESCE(end_utc, charging_end_time)) / 3600e0 + 0.25 AS idle_known
    FROM raw_data
    WHERE id > %(from_id)s AND id <= %(to_id)s
  ) s
  GROUP BY 1, 2
) a
JOIN dimensions d ON d.dim_id = a.dim_id;
