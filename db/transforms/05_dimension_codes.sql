-- prepares: raw_data
-- Sessions without a dimension code (dim_id = 0: written by something other than `evpipe
-- ingest`, which codes every session it loads) get one before the rollups group by it: new
-- segments and dimensions first, then the codes. Only the id range being folded is touched,
-- and only if it holds such a session (the SELECT below).
SELECT 1 FROM raw_data WHERE id > %(from_id)s AND id <= %(to_id)s AND dim_id = 0 LIMIT 1;

INSERT IGNORE INTO segments (location, charger_type, user_type)
SELECT DISTINCT COALESCE(charging_station_location, 'Unknown'), COALESCE(charger_type, 'Unknown'),
       COALESCE(user_type, 'Unknown')
FROM raw_data
WHERE id > %(from_id)s AND id <= %(to_id)s AND dim_id = 0;

INSERT IGNORE INTO dimensions (station_id, port_id, location, charger_type, user_type, seg_id)
SELECT r.station_id, r.port_id, r.location, r.charger_type, r.user_type, s.seg_id
FROM (
  SELECT DISTINCT COALESCE(charging_station_id, 'Unknown') AS station_id,
         COALESCE(port_id, '') AS port_id,
         COALESCE(charging_station_location, 'Unknown') AS location,
         COALESCE(charger_type, 'Unknown') AS charger_type,
         COALESCE(user_type, 'Unknown') AS user_type
  FROM raw_data
  WHERE id > %(from_id)s AND id <= %(to_id)s AND dim_id = 0
) r
STRAIGHT_JOIN segments s
  ON s.location = r.location AND s.charger_type = r.charger_type AND s.user_type = r.user_type;

UPDATE raw_data r
STRAIGHT_JOIN dimensions d
  ON d.station_id = COALESCE(r.charging_station_id, 'Unknown')
 AND d.port_id = COALESCE(r.port_id, '')
 AND d.location = COALESCE(r.charging_station_location, 'Unknown')
 AND d.charger_type = COALESCE(r.charger_type, 'Unknown')
 AND d.user_type = COALESCE(r.user_type, 'Unknown')
SET r.dim_id = d.dim_id
WHERE r.id > %(from_id)s AND r.id <= %(to_id)s AND r.dim_id = 0;
