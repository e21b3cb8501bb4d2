-- builds: processed_energy_demand
-- mode: rebuild
-- Time-of-day buckets by start hour: Morning 05-11, Afternoon 12-16, Evening 17-20, Night 21-04.
INSERT INTO {target} (location, day_of_week, time_of_day, total_energy_kwh, total_sessions)
SELECT location,
       DAYNAME(session_date),
       CASE WHEN hour_of_day BETWEEN 5 AND 11 THEN 'Morning'
            WHEN hour_of_day BETWEEN 12 AND 16 THEN 'Afternoon'
            WHEN hour_of_day BETWEEN 17 AND 20 THEN 'Evening'
            ELSE 'Night' END,
       SUM(energy_kwh), SUM(sessions)
FROM processed_hourly_rollup
GROUP BY 1, 2, 3;
