-- builds: processed_hourly_load
-- mode: additive
-- Each session's energy is spread evenly over the clock hours its interval overlaps, joined
-- against hour_offsets (0..79): linear in sessions x hours charged, no per-row subquery.
INSERT INTO {target} (
  load_date, hour_of_day, location, charger_type, user_type, energy_kwh, charging_hours)
SELECT DATE(b.bucket), HOUR(b.bucket), b.location, b.charger_type, b.user_type,
       SUM(b.energy_share), SUM(b.overlap_s) / 3600
FROM (
  SELECT s.first_hour + INTERVAL h.n HOUR AS bucket,
         s.location, s.charger_type, s.user_type,
         TIMESTAMPDIFF(SECOND,
           GREATEST(s.start_t, s.first_hour + INTERVAL h.n HOUR),
           LEAST(s.end_t, s.first_hour + INTERVAL (h.n + 1) HOUR)) AS overlap_s,
         CASE WHEN s.total_s = 0 THEN s.energy
              ELSE s.energy * TIMESTAMPDIFF(SECOND,
                     GREATEST(s.start_t, s.first_hour + INTERVAL h.n HOUR),
                     LEAST(s.end_t, s.first_hour + INTERVAL (h.n + 1) HOUR)) / s.total_s
         END AS energy_share
  FROM (
    SELECT charging_start_time AS start_t,
           charging_end_time   AS end_t,
           charging_start_time - INTERVAL MINUTE(charging_start_time) MINUTE
                               - INTERVAL SECOND(charging_start_time) SECOND AS first_hour,
           TIMESTAMPDIFF(SECOND, charging_start_time, charging_end_time) AS total_s,
           COALESCE(energy_consumed_kwh, 0) AS energy,
           COALESCE(charging_station_location, 'Unknown') AS location,
           COALESCE(charger_type, 'Unknown') AS charger_type,
           COALESCE(user_type, 'Unknown') AS user_type
    FROM raw_data
    WHERE id > %(from_id)s AND id <= %(to_id)s
  ) s
  JOIN hour_offsets h
    ON s.first_hour + INTERVAL h.n HOUR < s.end_t
    OR (h.n = 0 AND s.total_s = 0)
) b
GROUP BY 1, 2, 3, 4, 5
ON DUPLICATE KEY UPDATE
  energy_kwh     = energy_kwh + VALUES(energy_kwh),
  charging_hours = charging_hours + VALUES(charging_hours);
