#!/bin/bash
# Creates the dashboard's read-only user (SELECT on this schema only) from the environment.
# Sourced by the MySQL image's entrypoint on first start, after MYSQL_DATABASE / MYSQL_USER exist.
if [ -z "${DASHBOARD_DB_USER:-}" ] || [ -z "${DASHBOARD_DB_PASSWORD:-}" ]; then
  echo "900_dashboard_user.sh: DASHBOARD_DB_USER / DASHBOARD_DB_PASSWORD not set; no read-only user created" >&2
  return 0 2>/dev/null || exit 0
fi
# SQL string literals: double backslashes and quotes, so any password works as typed.
sql_string() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g"; }
# In GRANT ... ON `db`.*, '_' and '%' are wildcards: escape them so the grant covers this
# schema only (as the official image does for MYSQL_USER).
grant_db=$(printf '%s' "${MYSQL_DATABASE}" | sed -e 's/[_%]/\\&/g' -e 's/`/``/g')
dash_user=$(sql_string "${DASHBOARD_DB_USER}")
dash_password=$(sql_string "${DASHBOARD_DB_PASSWORD}")
client=$(command -v mysql || command -v mariadb)
# MYSQL_PWD: no password on the command line (ps). Not in the binary log either: MariaDB would
# write the password there as typed, and replicas create their own users (db/replica).
MYSQL_PWD="${MYSQL_ROOT_PASSWORD:-}" "$client" --protocol=socket \
  --socket="${SOCKET:-/var/run/mysqld/mysqld.sock}" -uroot <<SQL
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS '${dash_user}'@'%' IDENTIFIED BY '${dash_password}';
GRANT SELECT ON \`${grant_db}\`.* TO '${dash_user}'@'%';
FLUSH PRIVILEGES;
SQL
