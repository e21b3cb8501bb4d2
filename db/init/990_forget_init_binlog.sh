#!/bin/bash
# Empties the binary log the database's first start wrote: it holds the image's CREATE USER
# statements, and MariaDB logs their passwords as typed. Nothing needs it: no replica exists
# yet, and a replica is seeded from a dump (db/replica/seed_from_primary.sh), not from here.
# Sourced by the MySQL image's entrypoint on first start, after the other init files; never
# fails the start (MySQL 8.4 renamed RESET MASTER, 8.0 and MariaDB know only the old name).
evpipe_reset_binlog() {
  local client
  client=$(command -v mysql || command -v mariadb)
  for statement in 'RESET BINARY LOGS AND GTIDS' 'RESET MASTER'; do
    MYSQL_PWD="${MYSQL_ROOT_PASSWORD:-}" "$client" --protocol=socket \
      --socket="${SOCKET:-/var/run/mysqld/mysqld.sock}" -uroot -e "$statement" 2>/dev/null &&
      return 0
  done
  echo "990_forget_init_binlog.sh: could not reset the binary log; it keeps the init statements" >&2
}
evpipe_reset_binlog || true
