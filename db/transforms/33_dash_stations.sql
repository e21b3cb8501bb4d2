-- builds: processed_dash_stations
-- mode: derived
-- Stations cube (see 004_session_model.sql): months and weeks per station port, charger type
-- and user type from processed_daily_rollup (grouped by dimension code first), the same for all
-- charger and user types ('*', '*'), then quarters and years from the months.
INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id, port_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT d.charger_type, d.user_type, a.grain, a.period_start, d.location, d.station_id,
       d.port_id, a.sessions, a.energy_kwh, a.energy_sessions, a.cost_usd, a.cost_sessions,
       a.cost_energy_kwh, a.duration_hours, a.duration_sessions, a.charging_hours, a.idle_hours,
       a.idle_plugged_hours, a.idle_sessions
FROM (
  SELECT g.grain,
         IF(g.grain = 'M', r.session_date - INTERVAL (DAYOFMONTH(r.session_date) - 1) DAY,
            r.session_date - INTERVAL WEEKDAY(r.session_date) DAY) AS period_start,
         r.dim_id, SUM(r.sessions) AS sessions, SUM(r.energy_kwh) AS energy_kwh,
         SUM(r.energy_sessions) AS energy_sessions, SUM(r.cost_usd) AS cost_usd,
         SUM(r.cost_sessions) AS cost_sessions, SUM(r.cost_energy_kwh) AS cost_energy_kwh,
         SUM(r.duration_hours) AS duration_hours, SUM(r.duration_sessions) AS duration_sessions,
         SUM(r.charging_hours) AS charging_hours, SUM(r.idle_hours) AS idle_hours,
         SUM(r.idle_plugged_hours) AS idle_plugged_hours, SUM(r.idle_sessions) AS idle_sessions
  FROM {rows:processed_daily_rollup} r
  CROSS JOIN (SELECT 'M' AS grain UNION ALL SELECT 'W') g
  GROUP BY g.grain, 2, r.dim_id
) a
JOIN dimensions d ON d.dim_id = a.dim_id;

INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id, port_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT '*', '*', grain, period_start, location, charging_station_id, port_id,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions),
       SUM(cost_energy_kwh),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours),
       SUM(idle_hours), SUM(idle_plugged_hours), SUM(idle_sessions)
FROM {target}
GROUP BY grain, period_start, location, charging_station_id, port_id;

INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id, port_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT charger_type, user_type, 'Q',
       MAKEDATE(YEAR(period_start), 1) + INTERVAL (QUARTER(period_start) - 1) QUARTER,
       location, charging_station_id, port_id,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions),
       SUM(cost_energy_kwh),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours),
       SUM(idle_hours), SUM(idle_plugged_hours), SUM(idle_sessions)
FROM {target}
WHERE grain = 'M'
GROUP BY charger_type, user_type, 4, location, charging_station_id, port_id;

INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id, port_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT charger_type, user_type, 'Y', MAKEDATE(YEAR(period_start), 1),
       location, charging_station_id, port_id,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions),
       SUM(cost_energy_kwh),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours),
       SUM(idle_hours), SUM(idle_plugged_hours), SUM(idle_sessions)
FROM {target}
WHERE grain = 'M'
GROUP BY charger_type, user_type, 4, location, charging_station_id, port_id;
