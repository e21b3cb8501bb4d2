-- builds: processed_energy_demand
-- mode: derived
-- Energy and sessions per location, weekday and time of day, from the heatmap cube's days per
-- location (charger and user type '*'). Time-of-day buckets by local start hour: Morning 05-11,
-- Afternoon 12-16, Evening 17-20, Night 21-04.
INSERT INTO {target} (location, day_of_week, time_of_day, total_energy_kwh, total_sessions)
SELECT c.location,
       DAYNAME(c.period_start),
       CASE WHEN h.n BETWEEN 5 AND 11 THEN 'Morning'
            WHEN h.n BETWEEN 12 AND 16 THEN 'Afternoon'
            WHEN h.n BETWEEN 17 AND 20 THEN 'Evening'
            ELSE 'Night' END,
       SUM(CASE h.n
                 WHEN 0 THEN c.e00 WHEN 1 THEN c.e01 WHEN 2 THEN c.e02 WHEN 3 THEN c.e03
                 WHEN 4 THEN c.e04 WHEN 5 THEN c.e05 WHEN 6 THEN c.e06 WHEN 7 THEN c.e07
                 WHEN 8 THEN c.e08 WHEN 9 THEN c.e09 WHEN 10 THEN c.e10 WHEN 11 THEN c.e11
                 WHEN 12 THEN c.e12 WHEN 13 THEN c.e13 WHEN 14 THEN c.e14 WHEN 15 THEN c.e15
                 WHEN 16 THEN c.e16 WHEN 17 THEN c.e17 WHEN 18 THEN c.e18 WHEN 19 THEN c.e19
                 WHEN 20 THEN c.e20 WHEN 21 THEN c.e21 WHEN 22 THEN c.e22 WHEN 23 THEN c.e23 END) AS energy,
       SUM(CASE h.n
                 WHEN 0 THEN c.s00 WHEN 1 THEN c.s01 WHEN 2 THEN c.s02 WHEN 3 THEN c.s03
                 WHEN 4 THEN c.s04 WHEN 5 THEN c.s05 WHEN 6 THEN c.s06 WHEN 7 THEN c.s07
                 WHEN 8 THEN c.s08 WHEN 9 THEN c.s09 WHEN 10 THEN c.s10 WHEN 11 THEN c.s11
                 WHEN 12 THEN c.s12 WHEN 13 THEN c.s13 WHEN 14 THEN c.s14 WHEN 15 THEN c.s15
                 WHEN 16 THEN c.s16 WHEN 17 THEN c.s17 WHEN 18 THEN c.s18 WHEN 19 THEN c.s19
                 WHEN 20 THEN c.s20 WHEN 21 THEN c.s21 WHEN 22 THEN c.s22 WHEN 23 THEN c.s23 END) AS sessions
FROM {rows:processed_dash_hourly} c
JOIN hour_offsets h ON h.n < 24
WHERE c.grain = 'D' AND c.location <> '*' AND c.charger_type = '*' AND c.user_type = '*'
GROUP BY 1, 2, 3
HAVING sessions > 0;
