-- Read replicas (docker compose --profile replica; docs/replica.md).
-- read_replicas: the replicas the dashboard should read from. A replica's seeding registers it
-- here on the primary; replication copies the row to every replica.
CREATE TABLE IF NOT EXISTS read_replicas (
    host VARCHAR(255) NOT NULL,
    port SMALLINT UNSIGNED NOT NULL DEFAULT 3306,
    registered_at DATETIME NOT NULL,
    PRIMARY KEY (host, port)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- replication_heartbeat: one row the primary rewrites every second (an event from
-- db/replica/heartbeat.sql, created when the first replica is seeded). On a replica,
-- UTC now minus beat_at is how far it lags, on any engine and without replication privileges.
CREATE TABLE IF NOT EXISTS replication_heartbeat (
    id TINYINT UNSIGNED NOT NULL,
    beat_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB;

INSERT IGNORE INTO schema_migrations (version) VALUES ('007');
