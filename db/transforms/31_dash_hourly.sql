-- builds: processed_dash_hourly
-- mode: rollup
-- Heatmap cube (see 003_dashboard.sql): sessions and energy by the local hour charging started,
-- per day and segment (location, charger type, user type), one column per hour; then the seven
-- '*' combinations of each day, then months by weekday. From raw_data (an id range), grouped by
-- integers (day, hour, segment code) first.

DROP TEMPORARY TABLE IF EXISTS tmp_hour_counts;

CREATE TEMPORARY TABLE tmp_hour_counts (
  d        DATE NOT NULL,
  seg_id   INT UNSIGNED NOT NULL,
  h        TINYINT UNSIGNED NOT NULL,
  sessions INT UNSIGNED NOT NULL,
  energy   DOUBLE NOT NULL,
  PRIMARY KEY (d, seg_id, h)
) ENGINE=InnoDB;

-- (CREATE, then INSERT … SELECT: TiDB has no CREATE TABLE … SELECT; docs/scale-out.md)
INSERT INTO tmp_hour_counts (d, seg_id, h, sessions, energy)
SELECT DATE(r.charging_start_time) AS d, dm.seg_id, HOUR(r.charging_start_time) AS h,
       COUNT(*) AS sessions, COALESCE(SUM(r.energy_consumed_kwh), 0) AS energy
FROM raw_data r
JOIN dimensions dm ON dm.dim_id = r.dim_id
WHERE r.id > %(from_id)s AND r.id <= %(to_id)s
GROUP BY 1, 2, 3;

INSERT INTO {target} (
  location, charger_type, user_type, grain, period_start, day_of_week,
  s00, s01, s02, s03, s04, s05, s06, s07, s08, s09, s10, s11, s12, s13, s14, s15, s16, s17,
  s18, s19, s20, s21, s22, s23, e00, e01, e02, e03, e04, e05, e06, e07, e08, e09, e10, e11,
  e12, e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23)
SELECT g.location, g.charger_type, g.user_type, 'D', t.d, WEEKDAY(t.d),
       SUM(IF(t.h = 0, t.sessions, 0)), SUM(IF(t.h = 1, t.sessions, 0)),
       SUM(IF(t.h = 2, t.sessions, 0)), SUM(IF(t.h = 3, t.sessions, 0)),
       SUM(IF(t.h = 4, t.sessions, 0)), SUM(IF(t.h = 5, t.sessions, 0)),
       SUM(IF(t.h = 6, t.sessions, 0)), SUM(IF(t.h = 7, t.sessions, 0)),
       SUM(IF(t.h = 8, t.sessions, 0)), SUM(IF(t.h = 9, t.sessions, 0)),
       SUM(IF(t.h = 10, t.sessions, 0)), SUM(IF(t.h = 11, t.sessions, 0)),
       SUM(IF(t.h = 12, t.sessions, 0)), SUM(IF(t.h = 13, t.sessions, 0)),
       SUM(IF(t.h = 14, t.sessions, 0)), SUM(IF(t.h = 15, t.sessions, 0)),
       SUM(IF(t.h = 16, t.sessions, 0)), SUM(IF(t.h = 17, t.sessions, 0)),
       SUM(IF(t.h = 18, t.sessions, 0)), SUM(IF(t.h = 19, t.sessions, 0)),
       SUM(IF(t.h = 20, t.sessions, 0)), SUM(IF(t.h = 21, t.sessions, 0)),
       SUM(IF(t.h = 22, t.sessions, 0)), SUM(IF(t.h = 23, t.sessions, 0)),
       SUM(IF(t.h = 0, t.energy, 0)), SUM(IF(t.h = 1, t.energy, 0)),
       SUM(IF(t.h = 2, t.energy, 0)), SUM(IF(t.h = 3, t.energy, 0)),
       SUM(IF(t.h = 4, t.energy, 0)), SUM(IF(t.h = 5, t.energy, 0)),
       SUM(IF(t.h = 6, t.energy, 0)), SUM(IF(t.h = 7, t.energy, 0)),
       SUM(IF(t.h = 8, t.energy, 0)), SUM(IF(t.h = 9, t.energy, 0)),
       SUM(IF(t.h = 10, t.energy, 0)), SUM(IF(t.h = 11, t.energy, 0)),
       SUM(IF(t.h = 12, t.energy, 0)), SUM(IF(t.h = 13, t.energy, 0)),
       SUM(IF(t.h = 14, t.energy, 0)), SUM(IF(t.h = 15, t.energy, 0)),
       SUM(IF(t.h = 16, t.energy, 0)), SUM(IF(t.h = 17, t.energy, 0)),
       SUM(IF(t.h = 18, t.energy, 0)), SUM(IF(t.h = 19, t.energy, 0)),
       SUM(IF(t.h = 20, t.energy, 0)), SUM(IF(t.h = 21, t.energy, 0)),
       SUM(IF(t.h = 22, t.energy, 0)), SUM(IF(t.h = 23, t.energy, 0))
FROM tmp_hour_counts t
JOIN segments g ON g.seg_id = t.seg_id
GROUP BY t.d, t.seg_id;

DROP TEMPORARY TABLE tmp_hour_counts;

INSERT INTO {target} (
  location, charger_type, user_type, grain, period_start, day_of_week,
  s00, s01, s02, s03, s04, s05, s06, s07, s08, s09, s10, s11, s12, s13, s14, s15, s16, s17,
  s18, s19, s20, s21, s22, s23, e00, e01, e02, e03, e04, e05, e06, e07, e08, e09, e10, e11,
  e12, e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23)
SELECT IF(k.kl = 1, d.location, '*'), IF(k.kc = 1, d.charger_type, '*'),
       IF(k.ku = 1, d.user_type, '*'),
       'D', d.period_start, d.day_of_week,
       SUM(d.s00), SUM(d.s01), SUM(d.s02), SUM(d.s03), SUM(d.s04), SUM(d.s05), SUM(d.s06),
       SUM(d.s07), SUM(d.s08), SUM(d.s09), SUM(d.s10), SUM(d.s11), SUM(d.s12), SUM(d.s13),
       SUM(d.s14), SUM(d.s15), SUM(d.s16), SUM(d.s17), SUM(d.s18), SUM(d.s19), SUM(d.s20),
       SUM(d.s21), SUM(d.s22), SUM(d.s23), SUM(d.e00), SUM(d.e01), SUM(d.e02), SUM(d.e03),
       SUM(d.e04), SUM(d.e05), SUM(d.e06), SUM(d.e07), SUM(d.e08), SUM(d.e09), SUM(d.e10),
       SUM(d.e11), SUM(d.e12), SUM(d.e13), SUM(d.e14), SUM(d.e15), SUM(d.e16), SUM(d.e17),
       SUM(d.e18), SUM(d.e19), SUM(d.e20), SUM(d.e21), SUM(d.e22), SUM(d.e23)
FROM {target} d
JOIN (SELECT 0 AS kl, 0 AS kc, 0 AS ku UNION ALL SELECT 1, 0, 0 UNION ALL SELECT 0, 1, 0
      UNION ALL SELECT 0, 0, 1 UNION ALL SELECT 1, 1, 0 UNION ALL SELECT 1, 0, 1
      UNION ALL SELECT 0, 1, 1) k
WHERE d.grain = 'D'
GROUP BY 1, 2, 3, d.period_start, d.day_of_week;

INSERT INTO {target} (
  location, charger_type, user_type, grain, period_start, day_of_week,
  s00, s01, s02, s03, s04, s05, s06, s07, s08, s09, s10, s11, s12, s13, s14, s15, s16, s17,
  s18, s19, s20, s21, s22, s23, e00, e01, e02, e03, e04, e05, e06, e07, e08, e09, e10, e11,
  e12, e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23)
SELECT location, charger_type, user_type,
       'M', period_start - INTERVAL (DAYOFMONTH(period_start) - 1) DAY, day_of_week,
       SUM(s00), SUM(s01), SUM(s02), SUM(s03), SUM(s04), SUM(s05), SUM(s06), SUM(s07),
       SUM(s08), SUM(s09), SUM(s10), SUM(s11), SUM(s12), SUM(s13), SUM(s14), SUM(s15),
       SUM(s16), SUM(s17), SUM(s18), SUM(s19), SUM(s20), SUM(s21), SUM(s22), SUM(s23),
       SUM(e00), SUM(e01), SUM(e02), SUM(e03), SUM(e04), SUM(e05), SUM(e06), SUM(e07),
       SUM(e08), SUM(e09), SUM(e10), SUM(e11), SUM(e12), SUM(e13), SUM(e14), SUM(e15),
       SUM(e16), SUM(e17), SUM(e18), SUM(e19), SUM(e20), SUM(e21), SUM(e22), SUM(e23)
FROM {target}
WHERE grain = 'D'
GROUP BY location, charger_type, user_type, 5, day_of_week;
