-- Run-lock leases for EVPIPE_RUN_LOCK=table (evpipe.db.TableLease). Galera does not support
-- GET_LOCK, and on multi-primary Group Replication it holds only on the node it ran on; a row
-- here is seen by every node. A holder renews expires_at in the background and deletes its row
-- when it is done; a holder killed with -9 stops renewing, and once expires_at (server UTC) has
-- passed the next run takes the row over. Unused, and empty, with the default EVPIPE_RUN_LOCK=named.
-- Every statement must work on MySQL 8.0 and MariaDB 10.11.

-- name: evpipe.run.<schema> (runs) or evpipe.schema.<schema> (migrations);
-- owner: host:pid:random of the holder.
CREATE TABLE IF NOT EXISTS run_locks (
  name        VARCHAR(64)  NOT NULL PRIMARY KEY,
  owner       VARCHAR(128) NOT NULL,
  acquired_at DATETIME(6)  NOT NULL,
  expires_at  DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO schema_migrations (version) VALUES ('008');
