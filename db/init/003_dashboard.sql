-- Tables the dashboard reads (services/dashboard, docs/dashboard.md), filled by
-- db/transforms/3x_*.sql from the rollups. Each is a small cube: in location, charger_type and
-- user_type the value '*' means "all values", so a query reads only the rows of the combination
-- the filters ask for (an unfiltered query reads one row per period), never raw_data.
-- grain 'D' = one day (period_start), 'W' = the week starting on Monday period_start,
-- 'M' = the calendar month starting on period_start, 'Q' = the quarter, 'Y' = the year. A range is
-- answered with whole years / months / weeks and single days at its edges, so a request reads
-- a few thousand rows, not one per session.
-- Everything is sums and counts: averages are computed as sum / count when read.

-- KPIs, the five overview charts and sessions / energy over time (grains D, M, Q, Y).
-- day_of_week is WEEKDAY(): 0 = Monday; a 'M' row holds the days of that weekday in the month.
CREATE TABLE IF NOT EXISTS processed_dash_segments (
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
  duration_hours    DOUBLE NOT NULL,
  duration_sessions BIGINT UNSIGNED NOT NULL,
  charging_hours    DOUBLE NOT NULL,
  PRIMARY KEY (location, charger_type, user_type, grain, period_start, day_of_week)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Hour-of-day x weekday heatmap: sessions (sNN) and energy (eNN) by the hour charging started,
-- one column per hour so that a year of one combination is 365 rows (grain 'D') or 84 ('M').
CREATE TABLE IF NOT EXISTS processed_dash_hourly (
  location     VARCHAR(100) NOT NULL,
  charger_type VARCHAR(40)  NOT NULL,
  user_type    VARCHAR(40)  NOT NULL,
  grain        CHAR(1)      NOT NULL,
  period_start DATE         NOT NULL,
  day_of_week  TINYINT UNSIGNED NOT NULL,
  s00 INT UNSIGNED NOT NULL DEFAULT 0, s01 INT UNSIGNED NOT NULL DEFAULT 0,
  s02 INT UNSIGNED NOT NULL DEFAULT 0, s03 INT UNSIGNED NOT NULL DEFAULT 0,
  s04 INT UNSIGNED NOT NULL DEFAULT 0, s05 INT UNSIGNED NOT NULL DEFAULT 0,
  s06 INT UNSIGNED NOT NULL DEFAULT 0, s07 INT UNSIGNED NOT NULL DEFAULT 0,
  s08 INT UNSIGNED NOT NULL DEFAULT 0, s09 INT UNSIGNED NOT NULL DEFAULT 0,
  s10 INT UNSIGNED NOT NULL DEFAULT 0, s11 INT UNSIGNED NOT NULL DEFAULT 0,
  s12 INT UNSIGNED NOT NULL DEFAULT 0, s13 INT UNSIGNED NOT NULL DEFAULT 0,
  s14 INT UNSIGNED NOT NULL DEFAULT 0, s15 INT UNSIGNED NOT NULL DEFAULT 0,
  s16 INT UNSIGNED NOT NULL DEFAULT 0, s17 INT UNSIGNED NOT NULL DEFAULT 0,
  s18 INT UNSIGNED NOT NULL DEFAULT 0, s19 INT UNSIGNED NOT NULL DEFAULT 0,
  s20 INT UNSIGNED NOT NULL DEFAULT 0, s21 INT UNSIGNED NOT NULL DEFAULT 0,
  s22 INT UNSIGNED NOT NULL DEFAULT 0, s23 INT UNSIGNED NOT NULL DEFAULT 0,
  e00 DOUBLE NOT NULL DEFAULT 0, e01 DOUBLE NOT NULL DEFAULT 0, e02 DOUBLE NOT NULL DEFAULT 0,
  e03 DOUBLE NOT NULL DEFAULT 0, e04 DOUBLE NOT NULL DEFAULT 0, e05 DOUBLE NOT NULL DEFAULT 0,
  e06 DOUBLE NOT NULL DEFAULT 0, e07 DOUBLE NOT NULL DEFAULT 0, e08 DOUBLE NOT NULL DEFAULT 0,
  e09 DOUBLE NOT NULL DEFAULT 0, e10 DOUBLE NOT NULL DEFAULT 0, e11 DOUBLE NOT NULL DEFAULT 0,
  e12 DOUBLE NOT NULL DEFAULT 0, e13 DOUBLE NOT NULL DEFAULT 0, e14 DOUBLE NOT NULL DEFAULT 0,
  e15 DOUBLE NOT NULL DEFAULT 0, e16 DOUBLE NOT NULL DEFAULT 0, e17 DOUBLE NOT NULL DEFAULT 0,
  e18 DOUBLE NOT NULL DEFAULT 0, e19 DOUBLE NOT NULL DEFAULT 0, e20 DOUBLE NOT NULL DEFAULT 0,
  e21 DOUBLE NOT NULL DEFAULT 0, e22 DOUBLE NOT NULL DEFAULT 0, e23 DOUBLE NOT NULL DEFAULT 0,
  PRIMARY KEY (location, charger_type, user_type, grain, period_start, day_of_week)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Load curve: kWh delivered in each clock hour of load_date (= average kW in that hour), each
-- session's energy spread over its charging interval (processed_hourly_load), one column per
-- hour. Days only: the peak of an hour needs each day's value.
CREATE TABLE IF NOT EXISTS processed_dash_load (
  location     VARCHAR(100) NOT NULL,
  charger_type VARCHAR(40)  NOT NULL,
  user_type    VARCHAR(40)  NOT NULL,
  load_date    DATE         NOT NULL,
  h00 DOUBLE NOT NULL DEFAULT 0, h01 DOUBLE NOT NULL DEFAULT 0, h02 DOUBLE NOT NULL DEFAULT 0,
  h03 DOUBLE NOT NULL DEFAULT 0, h04 DOUBLE NOT NULL DEFAULT 0, h05 DOUBLE NOT NULL DEFAULT 0,
  h06 DOUBLE NOT NULL DEFAULT 0, h07 DOUBLE NOT NULL DEFAULT 0, h08 DOUBLE NOT NULL DEFAULT 0,
  h09 DOUBLE NOT NULL DEFAULT 0, h10 DOUBLE NOT NULL DEFAULT 0, h11 DOUBLE NOT NULL DEFAULT 0,
  h12 DOUBLE NOT NULL DEFAULT 0, h13 DOUBLE NOT NULL DEFAULT 0, h14 DOUBLE NOT NULL DEFAULT 0,
  h15 DOUBLE NOT NULL DEFAULT 0, h16 DOUBLE NOT NULL DEFAULT 0, h17 DOUBLE NOT NULL DEFAULT 0,
  h18 DOUBLE NOT NULL DEFAULT 0, h19 DOUBLE NOT NULL DEFAULT 0, h20 DOUBLE NOT NULL DEFAULT 0,
  h21 DOUBLE NOT NULL DEFAULT 0, h22 DOUBLE NOT NULL DEFAULT 0, h23 DOUBLE NOT NULL DEFAULT 0,
  PRIMARY KEY (location, charger_type, user_type, load_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The stations table: years, quarters, months and weeks per station, for each charger type /
-- user type combination and for all of them ('*', '*'); a filter on charger or user type reads
-- the former. The days at the edges of a range come from processed_daily_rollup.
CREATE TABLE IF NOT EXISTS processed_dash_stations (
  charger_type        VARCHAR(40)  NOT NULL,
  user_type           VARCHAR(40)  NOT NULL,
  grain               CHAR(1)      NOT NULL,
  period_start        DATE         NOT NULL,
  location            VARCHAR(100) NOT NULL,
  charging_station_id VARCHAR(64)  NOT NULL,
  sessions          BIGINT UNSIGNED NOT NULL,
  energy_kwh        DOUBLE NOT NULL,
  energy_sessions   BIGINT UNSIGNED NOT NULL,
  cost_usd          DOUBLE NOT NULL,
  cost_sessions     BIGINT UNSIGNED NOT NULL,
  duration_hours    DOUBLE NOT NULL,
  duration_sessions BIGINT UNSIGNED NOT NULL,
  charging_hours    DOUBLE NOT NULL,
  PRIMARY KEY (charger_type, user_type, grain, period_start, location, charging_station_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO schema_migrations (version) VALUES ('003');
