-- Loads one normalised chunk (written by evpipe.load) into raw_data.
-- IGNORE: a row whose session_key already exists is skipped, which makes every load idempotent.
-- The chunk quotes every string and writes NULL unquoted for missing values, so columns load
-- directly; only the session key passes through a variable: the MD5 of the key text
-- (evpipe.validate) as hex, computed by evpipe.load, which also sorts the rows by it.
-- Column order: evpipe.validate.LOAD_COLUMNS, then dim_id (evpipe.dimensions). Parameters: the chunk file, whether the file's
-- format has plug-out times (1/0), the source file label, the run id.
LOAD DATA LOCAL INFILE %s
IGNORE INTO TABLE raw_data
CHARACTER SET utf8mb4
FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY ''
LINES TERMINATED BY '\n'
(user_id, vehicle_model, battery_capacity_kwh, charging_station_id,
 charging_station_location, charging_start_time, charging_end_time, energy_consumed_kwh,
 charging_duration_hours, charging_rate_kw, cost_usd, time_of_day, day_of_week,
 soc_start_pct, soc_end_pct, distance_since_last_charge_km, temperature_c,
 vehicle_age_years, charger_type, user_type,
 source_session_id, port_id, time_zone, start_utc, end_utc, fee, currency,
 @key_md5, source_line, dim_id)
SET session_key = UNHEX(@key_md5),
    plug_out_known = %s,
    source_file = %s,
    run_id = %s
