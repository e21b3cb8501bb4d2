#!/bin/bash
# Seeds this replica from the primary and starts GTID replication (docs/replica.md).
# Sourced by the MySQL image's entrypoint on the replica's first start only (empty data volume),
# after it has created the application users from the same environment as the primary's.
# Works with the mysql:8.0 image (mysqldump, CHANGE REPLICATION SOURCE ... AUTO_POSITION) and
# MariaDB (mariadb-dump --gtid, CHANGE MASTER ... MASTER_USE_GTID). The replica is registered
# for the dashboard only once replication runs; on any error the first start fails with a
# message, and the data volume must be removed before the next try.
evpipe_seed_replica() {
  local client dump sock primary port db flavor repl_user repl_pw started self
  client=$(command -v mysql || command -v mariadb)
  dump=$(command -v mysqldump || command -v mariadb-dump)
  sock="${SOCKET:-/var/run/mysqld/mysqld.sock}"
  primary=${PRIMARY_DB_HOST:-db}
  port=${PRIMARY_DB_PORT:-3306}
  db=${MYSQL_DATABASE:?MYSQL_DATABASE must be set}
  repl_user=$(evpipe_sql_string "${REPLICATION_USER:?REPLICATION_USER must be set}")
  repl_pw=$(evpipe_sql_string "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}")
  self=$(evpipe_sql_string "${REPLICA_HOST:-db-replica}")
  started=$SECONDS

  on_primary() {
    MYSQL_PWD="${PRIMARY_ROOT_PASSWORD:?PRIMARY_ROOT_PASSWORD must be set}" \
      "$client" --protocol=tcp -h"$primary" -P"$port" -uroot "$@"
  }
  on_replica() {
    MYSQL_PWD="${MYSQL_ROOT_PASSWORD:-}" "$client" --protocol=socket --socket="$sock" -uroot "$@"
  }

  flavor=mysql
  on_replica -N -e 'SELECT VERSION()' | grep -qi mariadb && flavor=mariadb
  echo "seed_from_primary: seeding ${db} from ${primary}:${port} (${flavor})"

  # A primary started before db/conf/evpipe.cnf turned the binary log on has none to replicate.
  # (MariaDB always has GTIDs, and no gtid_mode variable.)
  local logging
  logging=$(on_primary -N -B -e 'SELECT @@log_bin') || return 1
  if [ "$flavor" = mysql ]; then
    logging+=$'\t'$(on_primary -N -B -e 'SELECT @@gtid_mode') || return 1
  else
    logging+=$'\tON'
  fi
  if [ "$logging" != "$(printf '1\tON')" ]; then
    echo "seed_from_primary: ${primary} runs without a binary log with GTIDs (log_bin, gtid_mode:" \
         "${logging//$'\t'/, }); restart it once so that it reads db/conf/evpipe.cnf:" \
         "docker compose restart db" >&2
    return 1
  fi

  # The primary: the tables the dashboard reads to find replicas and their lag (idempotent, so
  # an older primary whose worker has not yet applied migration 007 gets them too), the
  # replication user (not logged: MariaDB would write its password into the binary log), and
  # the heartbeat. Before the dump, so that the dump carries them.
  on_primary "$db" < /evpipe-db/init/007_read_replicas.sql || return 1
  on_primary "$db" <<SQL || return 1
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS '${repl_user}'@'%' IDENTIFIED BY '${repl_pw}';
ALTER USER '${repl_user}'@'%' IDENTIFIED BY '${repl_pw}';
GRANT REPLICATION SLAVE ON *.* TO '${repl_user}'@'%';
SET SESSION sql_log_bin = 1;
SET GLOBAL event_scheduler = ON;
INSERT INTO replication_heartbeat (id, beat_at) VALUES (1, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE beat_at = UTC_TIMESTAMP(6);
SQL
  on_primary "$db" < /evpipe-db/replica/heartbeat.sql || return 1

  # This server: forget the transactions its own first start logged (creating the users), so
  # that its GTID history is exactly the primary's and a later failover finds no stray ones.
  # (MySQL 8.4 renamed RESET MASTER; 8.0 and MariaDB know only the old name.)
  on_replica -e 'RESET BINARY LOGS AND GTIDS' 2>/dev/null || on_replica -e 'RESET MASTER' || return 1

  # No evpipe run or migration may change tables during the dump (a --single-transaction dump
  # fails on a table renamed or dropped under it, as a full transform does): hold evpipe's own
  # locks on the primary (evpipe.db.run_lock, evpipe.schema.ensure_schema) until it is done.
  # A run in progress is waited for.
  local lock_sql="SELECT GET_LOCK(LEFT(CONCAT('evpipe.schema.', DATABASE()), 64), 3600),
                         GET_LOCK(LEFT(CONCAT('evpipe.run.', DATABASE()), 64), 3600);"
  coproc EVPIPE_LOCKS { on_primary -N -B --unbuffered "$db"; }
  local locks_in=${EVPIPE_LOCKS[1]} locks_out=${EVPIPE_LOCKS[0]} locks_pid=$EVPIPE_LOCKS_PID
  echo "seed_from_primary: waiting for any evpipe run on ${primary} to finish"
  echo "$lock_sql" >&"$locks_in"
  local got="" waited=$SECONDS
  read -r -t 3700 got <&"$locks_out" || true
  echo "seed_from_primary: waited $((SECONDS - waited))s for evpipe's run lock"
  if [ "$got" != "$(printf '1\t1')" ]; then
    echo "seed_from_primary: could not take evpipe's run lock on ${primary} (got '${got}')" >&2
    exec {locks_in}>&-
    wait "$locks_pid" 2>/dev/null
    return 1
  fi

  # A consistent snapshot with its GTID position, streamed in without being logged again.
  # mysqldump --set-gtid-purged sets gtid_purged; mariadb-dump --gtid --master-data=1 sets
  # gtid_slave_pos. Neither dumps the events (the heartbeat must run on the primary only).
  local -a dump_opts=(--protocol=tcp -h"$primary" -P"$port" -uroot --single-transaction
                      --routines --triggers --skip-events --databases "$db")
  if [ "$flavor" = mariadb ]; then
    dump_opts+=(--gtid --master-data=1)
  else
    dump_opts+=(--set-gtid-purged=ON --source-data=2)
  fi
  { echo 'SET SESSION sql_log_bin = 0;'
    MYSQL_PWD="$PRIMARY_ROOT_PASSWORD" "$dump" "${dump_opts[@]}"
  } | on_replica
  local rcs=("${PIPESTATUS[@]}")
  exec {locks_in}>&-  # the client exits, the locks go with its session
  wait "$locks_pid" 2>/dev/null
  if [ "${rcs[0]}" != 0 ] || [ "${rcs[1]}" != 0 ]; then
    echo "seed_from_primary: copying ${db} from ${primary} failed (dump/import: ${rcs[*]})" >&2
    return 1
  fi

  if [ "$flavor" = mariadb ]; then
    on_replica <<SQL || return 1
CHANGE MASTER TO MASTER_HOST='${primary}', MASTER_PORT=${port}, MASTER_USER='${repl_user}',
  MASTER_PASSWORD='${repl_pw}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5;
START SLAVE;
SQL
  else
    on_replica <<SQL || return 1
CHANGE REPLICATION SOURCE TO SOURCE_HOST='${primary}', SOURCE_PORT=${port},
  SOURCE_USER='${repl_user}', SOURCE_PASSWORD='${repl_pw}', SOURCE_AUTO_POSITION=1,
  GET_SOURCE_PUBLIC_KEY=1, SOURCE_CONNECT_RETRY=5;
START REPLICA;
SQL
  fi

  # Last: register for the dashboard (replication then brings the row here too). A replica
  # whose seeding failed is never registered, so the dashboard never reads it.
  on_primary "$db" -e "INSERT INTO read_replicas (host, port, registered_at)
    VALUES ('${self}', ${REPLICA_PORT:-3306}, UTC_TIMESTAMP())
    ON DUPLICATE KEY UPDATE registered_at = UTC_TIMESTAMP()" || return 1
  echo "seed_from_primary: ${db} copied from ${primary} in $((SECONDS - started))s; replicating"
}

# SQL string literal body: backslashes and quotes doubled, so any name or password works.
evpipe_sql_string() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g"; }

if ! evpipe_seed_replica; then
  echo "seed_from_primary: seeding failed; fix the cause above, then remove the replica's data" \
       "volume (docker compose --profile replica rm -sf db-replica && docker volume rm" \
       "<project>_db-replica-data) and start it again" >&2
  return 1 2>/dev/null || exit 1
fi
