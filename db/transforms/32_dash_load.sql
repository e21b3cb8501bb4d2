-- builds: processed_dash_load
-- mode: rebuild
-- Load-curve cube (see 003_dashboard.sql): processed_hourly_load pivoted to one column per
-- clock hour, then the seven '*' combinations of each day.
-- Keeps these GROUP BYs in memory: the default 16 MB limit sends them to disk, ~5x slower.
SET SESSION tmp_table_size = 268435456, max_heap_table_size = 268435456;
INSERT INTO {target} (
  location, charger_type, user_type, load_date,
  h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17,
  h18, h19, h20, h21, h22, h23)
SELECT location, charger_type, user_type, load_date,
       SUM(IF(hour_of_day = 0, energy_kwh, 0)), SUM(IF(hour_of_day = 1, energy_kwh, 0)),
       SUM(IF(hour_of_day = 2, energy_kwh, 0)), SUM(IF(hour_of_day = 3, energy_kwh, 0)),
       SUM(IF(hour_of_day = 4, energy_kwh, 0)), SUM(IF(hour_of_day = 5, energy_kwh, 0)),
       SUM(IF(hour_of_day = 6, energy_kwh, 0)), SUM(IF(hour_of_day = 7, energy_kwh, 0)),
       SUM(IF(hour_of_day = 8, energy_kwh, 0)), SUM(IF(hour_of_day = 9, energy_kwh, 0)),
       SUM(IF(hour_of_day = 10, energy_kwh, 0)), SUM(IF(hour_of_day = 11, energy_kwh, 0)),
       SUM(IF(hour_of_day = 12, energy_kwh, 0)), SUM(IF(hour_of_day = 13, energy_kwh, 0)),
       SUM(IF(hour_of_day = 14, energy_kwh, 0)), SUM(IF(hour_of_day = 15, energy_kwh, 0)),
       SUM(IF(hour_of_day = 16, energy_kwh, 0)), SUM(IF(hour_of_day = 17, energy_kwh, 0)),
       SUM(IF(hour_of_day = 18, energy_kwh, 0)), SUM(IF(hour_of_day = 19, energy_kwh, 0)),
       SUM(IF(hour_of_day = 20, energy_kwh, 0)), SUM(IF(hour_of_day = 21, energy_kwh, 0)),
       SUM(IF(hour_of_day = 22, energy_kwh, 0)), SUM(IF(hour_of_day = 23, energy_kwh, 0))
FROM processed_hourly_load
GROUP BY location, charger_type, user_type, load_date;

INSERT INTO {target} (
  location, charger_type, user_type, load_date,
  h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17,
  h18, h19, h20, h21, h22, h23)
SELECT IF(k.kl = 1, d.location, '*'), IF(k.kc = 1, d.charger_type, '*'),
       IF(k.ku = 1, d.user_type, '*'),
       d.load_date,
       SUM(d.h00), SUM(d.h01), SUM(d.h02), SUM(d.h03), SUM(d.h04), SUM(d.h05), SUM(d.h06),
       SUM(d.h07), SUM(d.h08), SUM(d.h09), SUM(d.h10), SUM(d.h11), SUM(d.h12), SUM(d.h13),
       SUM(d.h14), SUM(d.h15), SUM(d.h16), SUM(d.h17), SUM(d.h18), SUM(d.h19), SUM(d.h20),
       SUM(d.h21), SUM(d.h22), SUM(d.h23)
FROM {target} d
JOIN (SELECT 0 AS kl, 0 AS kc, 0 AS ku UNION ALL SELECT 1, 0, 0 UNION ALL SELECT 0, 1, 0
      UNION ALL SELECT 0, 0, 1 UNION ALL SELECT 1, 1, 0 UNION ALL SELECT 1, 0, 1
      UNION ALL SELECT 0, 1, 1) k
GROUP BY 1, 2, 3, d.load_date;
