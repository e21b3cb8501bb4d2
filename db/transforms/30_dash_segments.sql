-- builds: processed_dash_segments
-- mode: derived
-- The dashboard's overview cube (see 003_dashboard.sql): days, then the seven '*' combinations
-- of each day, then months, quarters and years by weekday. Reads only processed_daily_rollup
-- (days grouped by segment code first); linear in its size.
INSERT INTO {target} (
  location, charger_type, user_type, grain, period_start, day_of_week,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT g.location, g.charger_type, g.user_type, 'D', a.session_date, WEEKDAY(a.session_date),
       a.sessions, a.energy_kwh, a.energy_sessions, a.cost_usd, a.cost_sessions,
       a.cost_energy_kwh, a.duration_hours, a.duration_sessions, a.charging_hours,
       a.idle_hours, a.idle_plugged_hours, a.idle_sessions
FROM (
  SELECT session_date, seg_id,
         SUM(sessions) AS sessions, SUM(energy_kwh) AS energy_kwh,
         SUM(energy_sessions) AS energy_sessions, SUM(cost_usd) AS cost_usd,
         SUM(cost_sessions) AS cost_sessions, SUM(cost_energy_kwh) AS cost_energy_kwh,
         SUM(duration_hours) AS duration_hours, SUM(duration_sessions) AS duration_sessions,
         SUM(charging_hours) AS charging_hours, SUM(idle_hours) AS idle_hours,
         SUM(idle_plugged_hours) AS idle_plugged_hours, SUM(idle_sessions) AS idle_sessions
  FROM {rows:processed_daily_rollup}
  GROUP BY session_date, seg_id
) a
JOIN segments g ON g.seg_id = a.seg_id;

INSERT INTO {target} (
  location, charger_type, user_type, grain, period_start, day_of_week,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT IF(k.kl = 1, d.location, '*'), IF(k.kc = 1, d.charger_type, '*'),
       IF(k.ku = 1, d.user_type, '*'),
       'D', d.period_start, d.day_of_week,
       SUM(d.sessions), SUM(d.energy_kwh), SUM(d.energy_sessions), SUM(d.cost_usd),
       SUM(d.cost_sessions), SUM(d.cost_energy_kwh), SUM(d.duration_hours), SUM(d.duration_sessions),
       SUM(d.charging_hours), SUM(d.idle_hours), SUM(d.idle_plugged_hours), SUM(d.idle_sessions)
FROM {target} d
JOIN (SELECT 0 AS kl, 0 AS kc, 0 AS ku UNION ALL SELECT 1, 0, 0 UNION ALL SELECT 0, 1, 0
      UNION ALL SELECT 0, 0, 1 UNION ALL SELECT 1, 1, 0 UNION ALL SELECT 1, 0, 1
      UNION ALL SELECT 0, 1, 1) k
WHERE d.grain = 'D'
GROUP BY 1, 2, 3, d.period_start, d.day_of_week;

INSERT INTO {target} (
  location, charger_type, user_type, grain, period_start, day_of_week,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT location, charger_type, user_type,
       'M', period_start - INTERVAL (DAYOFMONTH(period_start) - 1) DAY, day_of_week,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions), SUM(cost_energy_kwh),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours),
       SUM(idle_hours), SUM(idle_plugged_hours), SUM(idle_sessions)
FROM {target}
WHERE grain = 'D'
GROUP BY location, charger_type, user_type, 5, day_of_week;

INSERT INTO {target} (
  location, charger_type, user_type, grain, period_start, day_of_week,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT location, charger_type, user_type,
       'Q', MAKEDATE(YEAR(period_start), 1) + INTERVAL (QUARTER(period_start) - 1) QUARTER,
       day_of_week,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions), SUM(cost_energy_kwh),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours),
       SUM(idle_hours), SUM(idle_plugged_hours), SUM(idle_sessions)
FROM {target}
WHERE grain = 'M'
GROUP BY location, charger_type, user_type, 5, day_of_week;

INSERT INTO {target} (
  location, charger_type, user_type, grain, period_start, day_of_week,
  sessions, energy_kwh, energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours,
  duration_sessions, charging_hours, idle_hours, idle_plugged_hours, idle_sessions)
SELECT location, charger_type, user_type,
       'Y', MAKEDATE(YEAR(period_start), 1), day_of_week,
       SUM(sessions), SUM(energy_kwh), SUM(energy_sessions), SUM(cost_usd), SUM(cost_sessions), SUM(cost_energy_kwh),
       SUM(duration_hours), SUM(duration_sessions), SUM(charging_hours),
       SUM(idle_hours), SUM(idle_plugged_hours), SUM(idle_sessions)
FROM {target}
WHERE grain = 'M'
GROUP BY location, charger_type, user_type, 5, day_of_week;
