-- Analytical tables the dashboard reads. Created empty here so readers always find them;
-- `evpipe transform` fills them (db/transforms). Averages are always sum / count.

-- How far the rollups have folded in raw_data (by id). Swapped together with the rollups in one
-- RENAME TABLE on a full rebuild, and updated in the same transaction on an incremental one, so
-- the watermark can never disagree with the rollups' content.
CREATE TABLE IF NOT EXISTS transform_state (
  id                   TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  rolled_up_to_id      BIGINT UNSIGNED NOT NULL DEFAULT 0,
  marts_built_from_id  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  transformed_at       DATETIME NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO transform_state (id) VALUES (1);

-- Daily grain for filters: date x station x location x charger type x user type.
CREATE TABLE IF NOT EXISTS processed_daily_rollup (
  session_date        DATE         NOT NULL,
  charging_station_id VARCHAR(64)  NOT NULL,
  location            VARCHAR(100) NOT NULL,
  charger_type        VARCHAR(40)  NOT NULL,
  user_type           VARCHAR(40)  NOT NULL,
  sessions            BIGINT UNSIGNED NOT NULL,
  energy_kwh          DOUBLE NOT NULL,
  energy_sessions     BIGINT UNSIGNED NOT NULL,
  cost_usd            DOUBLE NOT NULL,
  cost_sessions       BIGINT UNSIGNED NOT NULL,
  duration_hours      DOUBLE NOT NULL,
  duration_sessions   BIGINT UNSIGNED NOT NULL,
  charging_hours      DOUBLE NOT NULL,
  temperature_c       DOUBLE NOT NULL,
  temperature_sessions BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (session_date, charging_station_id, location, charger_type, user_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Sessions and energy by the hour their charging started (hour-of-day x weekday heatmaps).
CREATE TABLE IF NOT EXISTS processed_hourly_rollup (
  session_date    DATE         NOT NULL,
  hour_of_day     TINYINT UNSIGNED NOT NULL,
  location        VARCHAR(100) NOT NULL,
  charger_type    VARCHAR(40)  NOT NULL,
  user_type       VARCHAR(40)  NOT NULL,
  sessions        BIGINT UNSIGNED NOT NULL,
  energy_kwh      DOUBLE NOT NULL,
  energy_sessions BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (session_date, hour_of_day, location, charger_type, user_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Energy delivered in each clock hour, each session's energy spread evenly over its
-- charging interval: energy_kwh in a one-hour bucket is that hour's average load in kW.
CREATE TABLE IF NOT EXISTS processed_hourly_load (
  load_date      DATE         NOT NULL,
  hour_of_day    TINYINT UNSIGNED NOT NULL,
  location       VARCHAR(100) NOT NULL,
  charger_type   VARCHAR(40)  NOT NULL,
  user_type      VARCHAR(40)  NOT NULL,
  energy_kwh     DOUBLE NOT NULL,
  charging_hours DOUBLE NOT NULL,
  PRIMARY KEY (load_date, hour_of_day, location, charger_type, user_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS processed_station_metrics (
  station_id               VARCHAR(64)  NOT NULL,
  location                 VARCHAR(100) NOT NULL,
  total_sessions           BIGINT UNSIGNED NOT NULL,
  total_energy_kwh         DOUBLE NOT NULL,
  total_cost_usd           DOUBLE NOT NULL,
  avg_energy_kwh           DOUBLE NULL,
  avg_duration_hr          DOUBLE NULL,
  avg_cost_usd             DOUBLE NULL,
  avg_temp_c               DOUBLE NULL,
  most_common_charger_type VARCHAR(40) NULL,
  first_session_date       DATE NULL,
  last_session_date        DATE NULL,
  PRIMARY KEY (station_id, location)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- day_of_week and time_of_day come from charging_start_time, never from the CSV columns.
CREATE TABLE IF NOT EXISTS processed_energy_demand (
  location         VARCHAR(100) NOT NULL,
  day_of_week      VARCHAR(10)  NOT NULL,
  time_of_day      VARCHAR(10)  NOT NULL,
  total_energy_kwh DOUBLE NOT NULL,
  total_sessions   BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (location, day_of_week, time_of_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS processed_cost_efficiency (
  charger_type     VARCHAR(40) NOT NULL PRIMARY KEY,
  total_sessions   BIGINT UNSIGNED NOT NULL,
  avg_duration_hr  DOUBLE NULL,
  avg_cost_usd     DOUBLE NULL,
  avg_energy_kwh   DOUBLE NULL,
  avg_cost_per_kwh DOUBLE NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- 0..79: hour offsets used to spread a session (at most 72 h, see the rule catalogue) over
-- the clock hours it covers.
CREATE TABLE IF NOT EXISTS hour_offsets (
  n TINYINT UNSIGNED NOT NULL PRIMARY KEY
) ENGINE=InnoDB;
INSERT IGNORE INTO hour_offsets (n) VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9),(10),(11),(12),(13),(14),(15),(16),(17),(18),(19),(20),(21),(22),(23),(24),(25),(26),(27),(28),(29),(30),(31),(32),(33),(34),(35),(36),(37),(38),(39),(40),(41),(42),(43),(44),(45),(46),(47),(48),(49),(50),(51),(52),(53),(54),(55),(56),(57),(58),(59),(60),(61),(62),(63),(64),(65),(66),(67),(68),(69),(70),(71),(72),(73),(74),(75),(76),(77),(78),(79);

INSERT IGNORE INTO schema_migrations (version) VALUES ('002');
