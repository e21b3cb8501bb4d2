#!/bin/bash
# Creates the dashboard's read-only user (SELECT on this schema only) from the environment.
# Sourced by the MySQL image's entrypoint on first start, after MYSQL_DATABASE / MYSQL_USER exist.
if [ -z "${DASHBOARD_DB_USER:-}" ] || [ -z "${DASHBOARD_DB_PASSWORD:-}" ]; then
  echo "900_dashboard_user.sh: DASHBOARD_DB_USER / DASHBOARD_DB_PASSWORD not set; no read-only user created" >&2
  return 0 2>/dev/null || exit 0
fi
client=$(command -v mysql || command -v mariadb)
"$client" --protocol=socket --socket="${SOCKET:-/var/run/mysqld/mysqld.sock}" \
  -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
CREATE USER IF NOT EXISTS '${DASHBOARD_DB_USER}'@'%' IDENTIFIED BY '${DASHBOARD_DB_PASSWORD}';
GRANT SELECT ON \`${MYSQL_DATABASE}\`.* TO '${DASHBOARD_DB_USER}'@'%';
FLUSH PRIVILEGES;
SQL
