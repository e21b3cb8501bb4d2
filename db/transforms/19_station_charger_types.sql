-- builds: processed_station_charger_types
-- mode: derived
-- Sessions per station and charger type: what processed_station_metrics picks the most common
-- charger type from (a mode is not a sum, but these counts are, so they fold like the rest).
INSERT INTO {target} (station_id, location, charger_type, sessions)
SELECT charging_station_id, location, charger_type, SUM(sessions)
FROM {rows:processed_daily_rollup}
GROUP BY charging_station_id, location, charger_type;
