-- Core tables: raw sessions, run records, quarantine, file manifest.
-- Applied by the MySQL container on first start (/docker-entrypoint-initdb.d) and by
-- `evpipe` on any bare database; every statement must work on MySQL 8.0 and MariaDB 10.11.

CREATE TABLE IF NOT EXISTS schema_migrations (
  version    VARCHAR(32) NOT NULL PRIMARY KEY,
  applied_at TIMESTAMP   NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per charging session. session_key = MD5(user_id|charging_station_id|start) makes
-- loading idempotent: a session delivered twice hits the unique key and is skipped.
CREATE TABLE IF NOT EXISTS raw_data (
  id                            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_key                   BINARY(16)   NOT NULL,
  user_id                       VARCHAR(64)  NOT NULL,
  vehicle_model                 VARCHAR(100) NULL,
  battery_capacity_kwh          DOUBLE       NULL,
  charging_station_id           VARCHAR(64)  NOT NULL,
  charging_station_location     VARCHAR(100) NULL,
  charging_start_time           DATETIME     NOT NULL,
  charging_end_time             DATETIME     NOT NULL,
  energy_consumed_kwh           DOUBLE       NULL,
  charging_duration_hours       DOUBLE       NULL,
  charging_rate_kw              DOUBLE       NULL,
  cost_usd                      DOUBLE       NULL,
  time_of_day                   VARCHAR(20)  NULL,
  day_of_week                   VARCHAR(20)  NULL,
  soc_start_pct                 DOUBLE       NULL,
  soc_end_pct                   DOUBLE       NULL,
  distance_since_last_charge_km DOUBLE       NULL,
  temperature_c                 DOUBLE       NULL,
  vehicle_age_years             DOUBLE       NULL,
  charger_type                  VARCHAR(40)  NULL,
  user_type                     VARCHAR(40)  NULL,
  source_file                   VARCHAR(255) NOT NULL,
  source_line                   BIGINT UNSIGNED NOT NULL,
  run_id                        BIGINT UNSIGNED NOT NULL,
  loaded_at                     TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY uq_raw_data_session_key (session_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Kept for users of the original pipeline: last_loaded_start_time is the newest start time
-- loaded. It is a record only; ingest never filters on it.
CREATE TABLE IF NOT EXISTS pipeline_metadata (
  dataset_name           VARCHAR(64) NOT NULL PRIMARY KEY,
  last_loaded_start_time DATETIME    NULL,
  last_run               DATETIME    NULL,
  last_run_id            BIGINT UNSIGNED NULL,
  last_success_run_id    BIGINT UNSIGNED NULL,
  last_success_at        DATETIME    NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS pipeline_runs (
  run_id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  command              VARCHAR(16)  NOT NULL,
  status               VARCHAR(16)  NOT NULL,
  started_at           DATETIME(3)  NOT NULL,
  finished_at          DATETIME(3)  NULL,
  input_dir            VARCHAR(512) NULL,
  files_seen           INT UNSIGNED NOT NULL DEFAULT 0,
  files_skipped        INT UNSIGNED NOT NULL DEFAULT 0,
  files_loaded         INT UNSIGNED NOT NULL DEFAULT 0,
  files_failed         INT UNSIGNED NOT NULL DEFAULT 0,
  rows_read            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  rows_inserted        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  rows_already_present BIGINT UNSIGNED NOT NULL DEFAULT 0,
  rows_quarantined     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  warnings_json        TEXT         NULL,
  stage_seconds_json   TEXT         NULL,
  error_message        TEXT         NULL,
  KEY ix_pipeline_runs_status (status, run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A rejected row is stored once: row_hash = MD5 of its raw text.
CREATE TABLE IF NOT EXISTS rejected_rows (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  row_hash    BINARY(16)    NOT NULL,
  run_id      BIGINT UNSIGNED NOT NULL,
  source_file VARCHAR(255)  NOT NULL,
  line_number BIGINT UNSIGNED NOT NULL,
  rule        VARCHAR(48)   NOT NULL,
  message     VARCHAR(1000) NOT NULL,
  raw_line    MEDIUMTEXT    NOT NULL,
  rejected_at TIMESTAMP     NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY uq_rejected_rows_hash (row_hash),
  KEY ix_rejected_rows_rule (rule)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What has been consumed of each input file: a file that grows is read from bytes_consumed on,
-- after checking that the first bytes_consumed bytes still hash to content_sha256.
CREATE TABLE IF NOT EXISTS ingested_files (
  file_path      VARCHAR(512) NOT NULL PRIMARY KEY,
  content_sha256 CHAR(64)     NOT NULL,
  bytes_consumed BIGINT UNSIGNED NOT NULL DEFAULT 0,
  lines_consumed BIGINT UNSIGNED NOT NULL DEFAULT 0,
  rows_consumed  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  file_size      BIGINT UNSIGNED NOT NULL DEFAULT 0,
  file_mtime_ns  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  date_format    VARCHAR(32)  NULL,
  profile        VARCHAR(64)  NULL,
  status         VARCHAR(16)  NOT NULL,
  message        VARCHAR(1000) NULL,
  first_run_id   BIGINT UNSIGNED NOT NULL,
  last_run_id    BIGINT UNSIGNED NOT NULL,
  updated_at     TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  KEY ix_ingested_files_sha (content_sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO schema_migrations (version) VALUES ('001');
