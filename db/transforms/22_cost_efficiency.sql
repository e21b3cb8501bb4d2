-- builds: processed_cost_efficiency
-- mode: derived
-- fold-keep: avg_duration_hr, avg_cost_usd, avg_energy_kwh, avg_cost_per_kwh
-- Sums fold; the averages are sum / count, recomputed for the charger types that changed.
-- Cost per kWh divides by the energy of the sessions that have a cost.
INSERT INTO {target} (
  charger_type, total_sessions, duration_hours, duration_sessions, cost_usd, cost_sessions,
  energy_kwh, energy_sessions, cost_energy_kwh)
SELECT charger_type, SUM(sessions), SUM(duration_hours), SUM(duration_sessions),
       SUM(cost_usd), SUM(cost_sessions), SUM(energy_kwh), SUM(energy_sessions),
       SUM(cost_energy_kwh)
FROM {rows:processed_daily_rollup}
GROUP BY charger_type;

-- finish
UPDATE {target} t
JOIN (SELECT DISTINCT charger_type FROM {changed}) c ON c.charger_type = t.charger_type
SET t.avg_duration_hr = t.duration_hours / NULLIF(t.duration_sessions, 0),
    t.avg_cost_usd = t.cost_usd / NULLIF(t.cost_sessions, 0),
    t.avg_energy_kwh = t.energy_kwh / NULLIF(t.energy_sessions, 0),
    t.avg_cost_per_kwh = t.cost_usd / NULLIF(t.cost_energy_kwh, 0);
