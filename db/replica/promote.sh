#!/bin/bash
# Promotes this replica to the primary (docs/replica.md, "Failover"). Run inside the replica:
#   docker compose --profile replica exec db-replica bash /evpipe-db/replica/promote.sh
# Stops replication for good, makes the server writable, unregisters it as a read replica and
# starts the heartbeat here. Then point the worker and the dashboard at it (PRIMARY_DB_HOST).
set -euo pipefail
client=$(command -v mysql || command -v mariadb)
db=${MYSQL_DATABASE:?MYSQL_DATABASE must be set}
sql() { MYSQL_PWD="${MYSQL_ROOT_PASSWORD:-}" "$client" -uroot "$@"; }
self=$(printf '%s' "${REPLICA_HOST:-db-replica}" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")

# Stop receiving, then apply everything already received before replication is dropped for
# good (RESET ... ALL deletes the relay log, with any transaction not yet applied).
if sql -N -e 'SELECT VERSION()' | grep -qi mariadb; then
  sql -e 'STOP SLAVE IO_THREAD'
  received=$(sql -e 'SHOW SLAVE STATUS\G' | sed -n 's/^ *Gtid_IO_Pos: //p')
  wait_sql="SELECT MASTER_GTID_WAIT('${received}', 600)"
  reset_sql='STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF'
else
  sql -e 'STOP REPLICA IO_THREAD'
  received=$(sql -e 'SHOW REPLICA STATUS\G' | sed -n 's/^ *Retrieved_Gtid_Set: //p')
  wait_sql="SELECT WAIT_FOR_EXECUTED_GTID_SET('${received}', 600)"
  reset_sql='STOP REPLICA; RESET REPLICA ALL; SET GLOBAL super_read_only = OFF; SET GLOBAL read_only = OFF'
fi
if [ -n "$received" ] && [ "$(sql -N -B -e "$wait_sql")" != 0 ]; then
  echo "promote: the replica did not apply what it received ($received) within 600 s;" \
       "not promoted (replication is still configured, the IO thread stopped)" >&2
  exit 1
fi
sql -e "$reset_sql"
sql "$db" -e "DELETE FROM read_replicas WHERE host = '${self}'; SET GLOBAL event_scheduler = ON"
sql "$db" < /evpipe-db/replica/heartbeat.sql
echo "promote: ${REPLICA_HOST:-db-replica} is now a writable primary with $(sql -N "$db" -e 'SELECT COUNT(*) FROM raw_data') sessions."
echo "promote: now point the stack at it and keep it writable across restarts: put"
echo "  PRIMARY_DB_HOST=${REPLICA_HOST:-db-replica}"
echo "  REPLICA_READ_ONLY=OFF"
echo "into .env, then: docker compose --profile replica up -d --no-deps db-replica dashboard"
echo "and load with: docker compose run --rm --no-deps worker   (docs/replica.md, Failover)"
