-- Loads one normalised chunk (written by evpipe.load) into raw_data.
-- IGNORE: a row whose session_key already exists is skipped, which makes every load idempotent.
-- Parameters: the chunk file, the source file label, the run id.
LOAD DATA LOCAL INFILE %s
IGNORE INTO TABLE raw_data
CHARACTER SET utf8mb4
FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY ''
LINES TERMINATED BY '\n'
(@user_id, @vehicle_model, @battery_capacity_kwh, @charging_station_id,
 @charging_station_location, @charging_start_time, @charging_end_time, @energy_consumed_kwh,
 @charging_duration_hours, @charging_rate_kw, @cost_usd, @time_of_day, @day_of_week,
 @soc_start_pct, @soc_end_pct, @distance_since_last_charge_km, @temperature_c,
 @vehicle_age_years, @charger_type, @user_type, @source_line)
SET session_key = UNHEX(MD5(CONCAT_WS('|', @user_id, @charging_station_id, @charging_start_time))),
    user_id = @user_id,
    vehicle_model = NULLIF(@vehicle_model, ''),
    battery_capacity_kwh = NULLIF(@battery_capacity_kwh, ''),
    charging_station_id = @charging_station_id,
    charging_station_location = NULLIF(@charging_station_location, ''),
    charging_start_time = @charging_start_time,
    charging_end_time = @charging_end_time,
    energy_consumed_kwh = NULLIF(@energy_consumed_kwh, ''),
    charging_duration_hours = NULLIF(@charging_duration_hours, ''),
    charging_rate_kw = NULLIF(@charging_rate_kw, ''),
    cost_usd = NULLIF(@cost_usd, ''),
    time_of_day = NULLIF(@time_of_day, ''),
    day_of_week = NULLIF(@day_of_week, ''),
    soc_start_pct = NULLIF(@soc_start_pct, ''),
    soc_end_pct = NULLIF(@soc_end_pct, ''),
    distance_since_last_charge_km = NULLIF(@distance_since_last_charge_km, ''),
    temperature_c = NULLIF(@temperature_c, ''),
    vehicle_age_years = NULLIF(@vehicle_age_years, ''),
    charger_type = NULLIF(@charger_type, ''),
    user_type = NULLIF(@user_type, ''),
    source_file = %s,
    source_line = @source_line,
    run_id = %s
