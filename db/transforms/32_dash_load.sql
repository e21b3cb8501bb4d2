-- builds: processed_dash_load
-- mode: rollup
-- Load-curve cube (see 003_dashboard.sql): kWh delivered in each local clock hour (= the average
-- kW in that hour), each session's energy spread evenly over its charging interval (start to
-- end), per day and segment, one column per hour; then the seven '*' combinations of each day.
-- From raw_data (an id range).
-- Sessions are first reduced to integer seconds (since 2000-01-01) with last_n = index of the
-- last clock hour they touch; then for each offset n in hour_offsets an index range on last_n
-- finds the sessions still charging n hours after their first hour (clustered on last_n, so
-- each range is read in order). Linear in the number of (session, hour) pieces; no per-row
-- subquery and no per-row range planning. The pieces (about 3.7 per session) are grouped by
-- (hour, segment code): small integer keys keep the GROUP BY in memory.

DROP TEMPORARY TABLE IF EXISTS tmp_load_sessions;

CREATE TEMPORARY TABLE tmp_load_sessions (
  start_s BIGINT          NOT NULL,
  end_s   BIGINT          NOT NULL,
  first_s BIGINT          NOT NULL,
  last_n  INT             NOT NULL,
  energy  DOUBLE          NOT NULL,
  seg_id  INT UNSIGNED    NOT NULL,
  id      BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (last_n, id)
) ENGINE=InnoDB;

-- (CREATE, then INSERT … SELECT: TiDB has no CREATE TABLE … SELECT; docs/scale-out.md)
INSERT INTO tmp_load_sessions (start_s, end_s, first_s, last_n, energy, seg_id, id)
SELECT r.start_s, r.end_s, r.start_s - MOD(r.start_s, 3600) AS first_s,
       GREATEST((r.end_s - (r.start_s - MOD(r.start_s, 3600)) - 1) DIV 3600, 0) AS last_n,
       r.energy, r.seg_id, r.id
FROM (
  SELECT raw.id, TIMESTAMPDIFF(SECOND, '2000-01-01', raw.charging_start_time) AS start_s,
         TIMESTAMPDIFF(SECOND, '2000-01-01', raw.charging_end_time) AS end_s,
         COALESCE(raw.energy_consumed_kwh, 0) AS energy, dm.seg_id
  FROM raw_data raw
  JOIN dimensions dm ON dm.dim_id = raw.dim_id
  WHERE raw.id > %(from_id)s AND raw.id <= %(to_id)s
) r;

DROP TEMPORARY TABLE IF EXISTS tmp_load_hours;

CREATE TEMPORARY TABLE tmp_load_hours (
  d      DATE             NOT NULL,
  seg_id INT UNSIGNED     NOT NULL,
  h      TINYINT UNSIGNED NOT NULL,
  energy DOUBLE           NOT NULL,
  PRIMARY KEY (d, seg_id, h)
) ENGINE=InnoDB;

-- (CREATE, then INSERT … SELECT: TiDB has no CREATE TABLE … SELECT; docs/scale-out.md)
INSERT INTO tmp_load_hours (d, seg_id, h, energy)
SELECT DATE('2000-01-01' + INTERVAL a.bucket_s SECOND) AS d, a.seg_id,
       HOUR('2000-01-01' + INTERVAL a.bucket_s SECOND) AS h, a.energy
FROM (
  SELECT p.bucket_s, p.seg_id,
         SUM(CASE WHEN p.total_s = 0 THEN p.energy ELSE p.energy * p.overlap_s / p.total_s END)
           AS energy
  FROM (
    SELECT s.first_s + h.n * 3600 AS bucket_s,
           LEAST(s.end_s, s.first_s + h.n * 3600 + 3600)
             - GREATEST(s.start_s, s.first_s + h.n * 3600) AS overlap_s,
           s.end_s - s.start_s AS total_s,
           s.energy, s.seg_id
    FROM hour_offsets h
    STRAIGHT_JOIN tmp_load_sessions s ON s.last_n >= h.n
  ) p
  GROUP BY p.bucket_s, p.seg_id
) a;

INSERT INTO {target} (
  location, charger_type, user_type, load_date,
  h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17,
  h18, h19, h20, h21, h22, h23)
SELECT g.location, g.charger_type, g.user_type, t.d,
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
FROM tmp_load_hours t
JOIN segments g ON g.seg_id = t.seg_id
GROUP BY t.d, t.seg_id;

DROP TEMPORARY TABLE tmp_load_hours;

DROP TEMPORARY TABLE tmp_load_sessions;

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
