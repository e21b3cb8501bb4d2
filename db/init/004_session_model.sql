-- The canonical session model (issue 10): real exports fit beside the 20 columns users know.
-- charging_start_time / charging_end_time stay local wall-clock time (the session's interval at
-- the charger: plug-in to plug-out where the export records them); start_utc / end_utc are the
-- same instants in UTC, NULL when the export says nothing about its time zone.
-- A column an export lacks is NULL, never invented: user_id and charging_station_id may be.

ALTER TABLE raw_data
  MODIFY COLUMN user_id             VARCHAR(64) NULL,
  MODIFY COLUMN charging_station_id VARCHAR(64) NULL,
  ADD COLUMN source_session_id VARCHAR(128) NULL AFTER session_key,
  ADD COLUMN port_id           VARCHAR(64)  NULL AFTER charging_station_id,
  ADD COLUMN time_zone         VARCHAR(64)  NULL AFTER charging_end_time,
  ADD COLUMN start_utc         DATETIME     NULL AFTER time_zone,
  ADD COLUMN end_utc           DATETIME     NULL AFTER start_utc,
  ADD COLUMN fee               DOUBLE       NULL AFTER cost_usd,
  ADD COLUMN currency          CHAR(3)      NULL AFTER fee,
  -- 0: the export has no plug-out time; charging_end_time is the end of charging
  -- (start + charging time), so idle time is unknown for the session
  ADD COLUMN plug_out_known    TINYINT UNSIGNED NOT NULL DEFAULT 1 AFTER end_utc;

-- The session model under its own names: plug-in / plug-out in local time and UTC, charging
-- (active) time, idle time where the export gives both, and the export format each session
-- came in (the profile the file manifest recorded for its file). INVOKER: readers need SELECT
-- on the tables, which both application users have.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW sessions AS
SELECT r.id, r.session_key, f.profile AS source_format, r.source_session_id,
       r.charging_station_id AS station_id, r.port_id, r.charging_station_location AS site,
       r.user_id, r.vehicle_model,
       r.charging_start_time AS plug_in_local,
       IF(r.plug_out_known = 1, r.charging_end_time, NULL) AS plug_out_local,
       r.start_utc AS plug_in_utc,
       IF(r.plug_out_known = 1, r.end_utc, NULL) AS plug_out_utc,
       r.time_zone,
       IF(r.plug_out_known = 1, r.plugged_s / 3600, NULL) AS plugged_hours,
       r.charging_duration_hours AS charging_hours,
       -- charging starts at plug-in in every export evpipe reads; it ends after the charging
       -- time where the export has one (ACN-Data: doneChargingTime)
       r.charging_start_time + INTERVAL ROUND(r.charging_duration_hours * 3600) SECOND
         AS charging_end_local,
       r.start_utc + INTERVAL ROUND(r.charging_duration_hours * 3600) SECOND AS charging_end_utc,
       -- as in the daily rollup: only where the charging time fits in the plugged-in time
       -- (15 minutes of clock skew allowed, counted as no idle time)
       IF(r.plug_out_known = 1 AND r.charging_duration_hours <= r.plugged_s / 3600 + 0.25,
          GREATEST(r.plugged_s / 3600 - r.charging_duration_hours, 0), NULL) AS idle_hours,
       r.energy_consumed_kwh AS energy_kwh, r.fee, r.currency,
       r.charger_type, r.user_type, r.source_file, r.source_line, r.run_id
FROM (
  SELECT raw_data.*,
         CAST(TIMESTAMPDIFF(SECOND, COALESCE(start_utc, charging_start_time),
                            COALESCE(end_utc, charging_end_time)) AS DOUBLE) AS plugged_s
  FROM raw_data
) r
LEFT JOIN ingested_files f ON f.file_path = r.source_file;

-- Hour offsets for spreading a session over the clock hours it covers: sessions may now last up
-- to 720 h (a profile's max_session_hours), so 0..799.
ALTER TABLE hour_offsets MODIFY COLUMN n SMALLINT UNSIGNED NOT NULL;
INSERT IGNORE INTO hour_offsets (n)
SELECT a.n + 10 * b.n + 100 * c.n
FROM hour_offsets a CROSS JOIN hour_offsets b CROSS JOIN hour_offsets c
WHERE a.n < 10 AND b.n < 10 AND c.n < 8;

-- The daily rollup and the dashboard's overview and stations cubes gain the port and idle time.
-- They are derived data: recreated here, then filled by the full transform evpipe runs after a
-- migration. idle_*: sessions whose export has a plug-out and a charging time that fits;
-- cost_energy_kwh: the energy of the sessions with a cost (cost per kWh in mixed data).
DROP TABLE IF EXISTS processed_daily_rollup;
CREATE TABLE processed_daily_rollup (
  session_date        DATE         NOT NULL,
  charging_station_id VARCHAR(64)  NOT NULL,
  port_id             VARCHAR(64)  NOT NULL,
  location            VARCHAR(100) NOT NULL,
  charger_type        VARCHAR(40)  NOT NULL,
  user_type           VARCHAR(40)  NOT NULL,
  sessions            BIGINT UNSIGNED NOT NULL,
  energy_kwh          DOUBLE NOT NULL,
  energy_sessions     BIGINT UNSIGNED NOT NULL,
  cost_usd            DOUBLE NOT NULL,
  cost_sessions       BIGINT UNSIGNED NOT NULL,
  cost_energy_kwh     DOUBLE NOT NULL,
  duration_hours      DOUBLE NOT NULL,
  duration_sessions   BIGINT UNSIGNED NOT NULL,
  charging_hours      DOUBLE NOT NULL,
  temperature_c       DOUBLE NOT NULL,
  temperature_sessions BIGINT UNSIGNED NOT NULL,
  idle_hours          DOUBLE NOT NULL,
  idle_plugged_hours  DOUBLE NOT NULL,
  idle_sessions       BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (session_date, charging_station_id, port_id, location, charger_type, user_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

DROP TABLE IF EXISTS processed_dash_segments;
CREATE TABLE processed_dash_segments (
  location          VARCHAR(100) NOT NULL,
  charger_type      VARCHAR(40)  NOT NULL,
  user_type         VARCHAR(40)  NOT NULL,
  grain             CHAR(1)      NOT NULL,
  period_start      DATE         NOT NULL,
  day_of_week       TINYINT UNSIGNED NOT NULL,
  sessions          BIGINT UNSIGNED NOT NULL,
  energy_kwh        DOUBLE NOT NULL,
  energy_sessions   BIGINT UNSIGNED NOT NULL,
  cost_usd          DOUBLE NOT NULL,
  cost_sessions     BIGINT UNSIGNED NOT NULL,
  cost_energy_kwh   DOUBLE NOT NULL,
  duration_hours    DOUBLE NOT NULL,
  duration_sessions BIGINT UNSIGNED NOT NULL,
  charging_hours    DOUBLE NOT NULL,
  idle_hours        DOUBLE NOT NULL,
  idle_plugged_hours DOUBLE NOT NULL,
  idle_sessions     BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (location, charger_type, user_type, grain, period_start, day_of_week)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

DROP TABLE IF EXISTS processed_dash_stations;
CREATE TABLE processed_dash_stations (
  charger_type        VARCHAR(40)  NOT NULL,
  user_type           VARCHAR(40)  NOT NULL,
  grain               CHAR(1)      NOT NULL,
  period_start        DATE         NOT NULL,
  location            VARCHAR(100) NOT NULL,
  charging_station_id VARCHAR(64)  NOT NULL,
  port_id             VARCHAR(64)  NOT NULL,
  sessions          BIGINT UNSIGNED NOT NULL,
  energy_kwh        DOUBLE NOT NULL,
  energy_sessions   BIGINT UNSIGNED NOT NULL,
  cost_usd          DOUBLE NOT NULL,
  cost_sessions     BIGINT UNSIGNED NOT NULL,
  cost_energy_kwh   DOUBLE NOT NULL,
  duration_hours    DOUBLE NOT NULL,
  duration_sessions BIGINT UNSIGNED NOT NULL,
  charging_hours    DOUBLE NOT NULL,
  idle_hours        DOUBLE NOT NULL,
  idle_plugged_hours DOUBLE NOT NULL,
  idle_sessions     BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (charger_type, user_type, grain, period_start, location, charging_station_id,
               port_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

UPDATE transform_state SET rolled_up_to_id = 0, marts_built_from_id = 0 WHERE id = 1;

INSERT IGNORE INTO schema_migrations (version) VALUES ('004');
