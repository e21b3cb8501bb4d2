#!/bin/bash
# db-replica's healthcheck: serving TCP, and either replicating (the SQL thread runs, the IO
# thread runs or is reconnecting to a primary that is down) or promoted (writable, no source).
# A replica whose replication stopped on an error is unhealthy; `docker compose ps` shows it.
set -u
client=$(command -v mysql || command -v mariadb)
admin=$(command -v mysqladmin || command -v mariadb-admin)
MYSQL_PWD="$MYSQL_PASSWORD" "$admin" ping --silent -h 127.0.0.1 -u"$MYSQL_USER" || exit 1
root() { MYSQL_PWD="$MYSQL_ROOT_PASSWORD" "$client" -uroot "$@"; }
status=$(root -e 'SHOW REPLICA STATUS\G') || exit 1
if [ -z "$status" ]; then
  [ "$(root -N -B -e 'SELECT @@read_only')" = 0 ]  # promoted
  exit
fi
grep -qE '^ *(Slave|Replica)_SQL_Running: Yes$' <<<"$status" &&
  grep -qE '^ *(Slave|Replica)_IO_Running: (Yes|Connecting)$' <<<"$status"
