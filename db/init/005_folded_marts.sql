-- Marts that fold like the rollups (issue 11): the averages of processed_station_metrics and
-- processed_cost_efficiency are kept with the sums and counts they are computed from, and the
-- most common charger type per station comes from per-type session counts, so a transform after
-- a small load updates only the stations and charger types the new sessions touch. The marts
-- keep every column users know; the new ones come after them. Derived data: recreated here and
-- filled by the full transform evpipe runs after a migration.

DROP TABLE IF EXISTS processed_station_metrics;
CREATE TABLE processed_station_metrics (
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
  energy_sessions          BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cost_sessions            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  duration_hours           DOUBLE NOT NULL DEFAULT 0,
  duration_sessions        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  temperature_c_sum        DOUBLE NOT NULL DEFAULT 0,
  temperature_sessions     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (station_id, location)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

DROP TABLE IF EXISTS processed_cost_efficiency;
CREATE TABLE processed_cost_efficiency (
  charger_type      VARCHAR(40) NOT NULL PRIMARY KEY,
  total_sessions    BIGINT UNSIGNED NOT NULL,
  avg_duration_hr   DOUBLE NULL,
  avg_cost_usd      DOUBLE NULL,
  avg_energy_kwh    DOUBLE NULL,
  avg_cost_per_kwh  DOUBLE NULL,
  duration_hours    DOUBLE NOT NULL DEFAULT 0,
  duration_sessions BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cost_usd          DOUBLE NOT NULL DEFAULT 0,
  cost_sessions     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  energy_kwh        DOUBLE NOT NULL DEFAULT 0,
  energy_sessions   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cost_energy_kwh   DOUBLE NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS processed_station_charger_types (
  station_id   VARCHAR(64)  NOT NULL,
  location     VARCHAR(100) NOT NULL,
  charger_type VARCHAR(40)  NOT NULL,
  sessions     BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (station_id, location, charger_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What each transform step cost: seconds and the rows the server read and wrote (its handler
-- counters), per table.
ALTER TABLE pipeline_runs ADD COLUMN transform_json TEXT NULL AFTER stage_seconds_json;

UPDATE transform_state SET rolled_up_to_id = 0, marts_built_from_id = 0 WHERE id = 1;

INSERT IGNORE INTO schema_migrations (version) VALUES ('005');
