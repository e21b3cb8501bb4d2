-- builds: processed_cost_efficiency
-- mode: rebuild
INSERT INTO {target} (
  charger_type, total_sessions, avg_duration_hr, avg_cost_usd, avg_energy_kwh, avg_cost_per_kwh)
SELECT charger_type,
       SUM(sessions),
       SUM(duration_hours) / NULLIF(SUM(duration_sessions), 0),
       SUM(cost_usd) / NULLIF(SUM(cost_sessions), 0),
       SUM(energy_kwh) / NULLIF(SUM(energy_sessions), 0),
       SUM(cost_usd) / NULLIF(SUM(cost_energy_kwh), 0)
FROM processed_daily_rollup
GROUP BY charger_type;
