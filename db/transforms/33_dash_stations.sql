-- builds: processed_dash_stations
-- mode: rebuild
-- Stations cube (see 003_dashboard.sql): months and weeks per charger type and user type from
-- processed_daily_rollup, the same for all of them ('*', '*'), then quarters and years from the
-- months.
-- Keeps these GROUP BYs in memory: the default 16 MB limit sends them to disk, ~5x slower.
SET SESSION tmp_table_size = 268435456, max_heap_table_size = 268435456;
INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, duration_hours,
  duration_sessions, charging_hours)
SELECT charger_type, user_type, 'M', session_date - INTERVAL (DAYOFMONTH(session_date) - 1) DAY,
       location, charging_station_id,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours)
FROM processed_daily_rollup
GROUP BY charger_type, user_type, 4, location, charging_station_id;

INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, duration_hours,
  duration_sessions, charging_hours)
SELECT charger_type, user_type, 'W', session_date - INTERVAL WEEKDAY(session_date) DAY,
       location, charging_station_id,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours)
FROM processed_daily_rollup
GROUP BY charger_type, user_type, 4, location, charging_station_id;

INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, duration_hours,
  duration_sessions, charging_hours)
SELECT '*', '*', grain, period_start, location, charging_station_id,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours)
FROM {target}
GROUP BY grain, period_start, location, charging_station_id;

INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, duration_hours,
  duration_sessions, charging_hours)
SELECT charger_type, user_type, 'Q',
       MAKEDATE(YEAR(period_start), 1) + INTERVAL (QUARTER(period_start) - 1) QUARTER,
       location, charging_station_id,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours)
FROM {target}
WHERE grain = 'M'
GROUP BY charger_type, user_type, 4, location, charging_station_id;

INSERT INTO {target} (
  charger_type, user_type, grain, period_start, location, charging_station_id,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, duration_hours,
  duration_sessions, charging_hours)
SELECT charger_type, user_type, 'Y', MAKEDATE(YEAR(period_start), 1),
       location, charging_station_id,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours)
FROM {target}
WHERE grain = 'M'
GROUP BY charger_type, user_type, 4, location, charging_station_id;
