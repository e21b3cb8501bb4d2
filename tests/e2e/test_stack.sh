#!/usr/bin/env bash
# End-to-end test of the Docker stack, as a user runs it: `docker compose up` from this checkout.
# Needs only docker (Compose v2), make and bash on the host: SQL goes through the db container's
# client, HTTP through bash's /dev/tcp. Runs under its own compose project with a temporary copy
# of data/incoming, and always removes its containers and volumes (down -v) when it ends.
#
#   bash tests/e2e/test_stack.sh        (make test-e2e; part of make test)
#
# PYTHON_IMAGE / DB_IMAGE select the base images as for compose.yaml. DASHBOARD_PORT defaults to
# 8050 (the next free port is used if 8050 is taken). Prints "N passed, N failed" last.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

export COMPOSE_PROJECT_NAME="evpipe-e2e-$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/evpipe-e2e.XXXXXX")
export EVPIPE_DATA_DIR="$work/incoming"
WORKER_TIMEOUT=${E2E_WORKER_TIMEOUT:-600}
HTTP_TIMEOUT=${E2E_HTTP_TIMEOUT:-180}

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { # check "description" command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s; fi; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
compose_cmd=(docker compose)
compose() { "${compose_cmd[@]}" "$@"; }

cleanup() {
  local rc=$?
  if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
    echo "--- last logs of $COMPOSE_PROJECT_NAME ---"
    compose --profile replica logs --no-color --tail=40 2>&1 | sed 's/^/    /'
  fi
  compose --profile replica down -v --remove-orphans --timeout 10 >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_get() { # http_get PORT [PATH] -> the raw HTTP response (status line, headers, body)
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "${2:-/}" >&3
    cat <&3
  ) 2>/dev/null
}
http_status() { # http_status PORT [PATH] -> the status code, e.g. 200
  http_get "$@" | head -n1 | cut -d' ' -f2
}

wait_http_200() { # wait_http_200 PORT TIMEOUT_S
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(http_status "$1")" = 200 ] && return 0
    sleep 0.5
  done
  return 1
}

# sql app|dashboard "statement" -> tab-separated rows, no header; exit code of the client.
# Credentials come from the db container's own environment, so this follows any .env.
sql() { sql_on db "$@"; }
sql_on() { # sql_on SERVICE app|dashboard "statement": the same, on another database service
  local service=$1; shift
  compose exec -T -e WHO="$1" -e Q="$2" "$service" sh -c '
    if [ "$WHO" = dashboard ]; then u=$DASHBOARD_DB_USER p=$DASHBOARD_DB_PASSWORD
    else u=$MYSQL_USER p=$MYSQL_PASSWORD; fi
    client=$(command -v mysql || command -v mariadb)
    MYSQL_PWD=$p exec "$client" -h127.0.0.1 -u"$u" -N -B "$MYSQL_DATABASE" -e "$Q" 2>&1'
}
count() { sql app "SELECT COUNT(*) FROM $1" | tr -d '[:space:]'; }
count_on() { sql_on "$1" app "SELECT COUNT(*) FROM $2" | tr -d '[:space:]'; }
mart_sum() { sql app "SELECT COALESCE(SUM($2), 0) FROM $1" | tr -d '[:space:]'; }
denied() { # denied "statement": the dashboard user must get an access-denied error
  local out
  out=$(sql dashboard "$1")
  echo "$out" | grep -qiE "denied|ERROR 1142|ERROR 1044|ERROR 1227" ||
    { echo "    got: ${out:-<no error>}"; return 1; }
}

worker_exit_code() { # waits for the `up` worker container to finish; prints its exit code
  local id state deadline=$((SECONDS + WORKER_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    id=$(compose ps -a -q worker 2>/dev/null | head -1)
    if [ -n "$id" ]; then
      state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")
      if [ "${state% *}" = exited ]; then echo "${state#* }"; return 0; fi
    fi
    sleep 1
  done
  echo timeout
}

marts_match() { # every mart's session total equals raw_data's row count
  local raw=$1 ok=0 t n
  for t in processed_station_metrics:total_sessions processed_energy_demand:total_sessions \
           processed_cost_efficiency:total_sessions processed_daily_rollup:sessions; do
    n=$(mart_sum "${t%%:*}" "${t#*:}")
    if [ "$n" != "$raw" ]; then echo "    ${t%%:*}: $n sessions, raw_data: $raw"; ok=1; fi
  done
  return $ok
}

new_export() { # new_export FILE ROWS: new sessions (dated 2031, users named after FILE) in the
               # input format of the sample data
  local file=$1 rows=$2 header i d col
  local -a cols line
  local -A v
  header=$(head -n1 "$(ls "$EVPIPE_DATA_DIR"/*.csv | grep -v '/e2e_' | head -1)" | tr -d '\r')
  IFS=, read -r -a cols <<<"$header"
  echo "$header" >"$file"
  for i in $(seq 1 "$rows"); do
    d=$(printf '2031-03-%02d' "$i")
    v=(
      ["User ID"]="E2E_$(basename "$file" .csv)_$i" ["Vehicle Model"]="Nissan Leaf" ["Battery Capacity (kWh)"]=62.0
      ["Charging Station ID"]="Station_E2E" ["Charging Station Location"]="Houston"
      ["Charging Start Time"]="$d 08:00:00" ["Charging End Time"]="$d 09:30:00"
      ["Energy Consumed (kWh)"]=30.0 ["Charging Duration (hours)"]=1.5
      ["Charging Rate (kW)"]=20.0 ["Charging Cost (USD)"]=12.5 ["Time of Day"]="Morning"
      ["Day of Week"]="$(date -d "$d" +%A 2>/dev/null || echo Monday)"
      ["State of Charge (Start %)"]=20.0 ["State of Charge (End %)"]=70.0
      ["Distance Driven (since last charge) (km)"]=150.0 ["Temperature (°C)"]=12.5
      ["Vehicle Age (years)"]=2.0 ["Charger Type"]="Level 2" ["User Type"]="Commuter"
    )
    line=()
    for col in "${cols[@]}"; do line+=("${v[$col]:-}"); done
    (IFS=,; echo "${line[*]}") >>"$file"
  done
}

# --- setup ---------------------------------------------------------------------------------

mkdir -p "$EVPIPE_DATA_DIR"
if ! ls data/incoming/*.csv >/dev/null 2>&1; then
  echo "no CSV in data/incoming: the sample data (data/incoming/sample_sessions.csv) is missing" >&2
  fail "sample data present"
  echo "$passed passed, $failed failed"
  exit 1
fi
cp data/incoming/*.csv "$EVPIPE_DATA_DIR"/
chmod 755 "$work" "$EVPIPE_DATA_DIR" && chmod 644 "$EVPIPE_DATA_DIR"/*
export DASHBOARD_PORT=${DASHBOARD_PORT:-8050}
while port_in_use "$DASHBOARD_PORT"; do DASHBOARD_PORT=$((DASHBOARD_PORT + 1)); done
echo "project $COMPOSE_PROJECT_NAME, data $EVPIPE_DATA_DIR, dashboard port $DASHBOARD_PORT," \
     "images ${PYTHON_IMAGE:-python:3.12-slim} / ${DB_IMAGE:-mysql:8.0}"

# --- 1. build and cold start ---------------------------------------------------------------

t=$(now)
if compose build; then pass "images build ($(elapsed "$t")s)"
else fail "images build"; echo "$passed passed, $failed failed"; exit 1; fi

t=$(now)
check "docker compose up -d --build" compose up -d --build --quiet-pull
if wait_http_200 "$DASHBOARD_PORT" "$HTTP_TIMEOUT"; then
  cold=$(elapsed "$t")
  pass "dashboard answers 200 on 127.0.0.1:$DASHBOARD_PORT (cold start ${cold}s)"
else
  cold=none
  fail "dashboard answers 200 on 127.0.0.1:$DASHBOARD_PORT within ${HTTP_TIMEOUT}s"
fi

code=$(worker_exit_code)
check "worker exits 0 (got $code)" [ "$code" = 0 ]
worker_done=$(elapsed "$t")
serves_dash() { http_get "$DASHBOARD_PORT" / | grep -q _dash-config; }
check "dashboard serves the Dash app" serves_dash
check "dashboard layout renders (GET /_dash-layout 200)" [ "$(http_status "$DASHBOARD_PORT" /_dash-layout)" = 200 ]

# --- 2. data landed --------------------------------------------------------------------------

raw=$(count raw_data)
check "raw_data holds the sample data ($raw rows)" [ "${raw:-0}" -gt 0 ] 2>/dev/null
check "marts hold sessions equal to raw_data ($raw)" marts_match "$raw"
check "make status exits 0" make -s status

# --- 3. reload with nothing new is a no-op ---------------------------------------------------

check "make reload (no new data) exits 0" make -s reload
check "raw_data unchanged after reload ($(count raw_data) == $raw)" [ "$(count raw_data)" = "$raw" ]
check "marts unchanged after reload" marts_match "$raw"

# --- 4. a new export is loaded by reload -----------------------------------------------------

new_export "$EVPIPE_DATA_DIR/e2e_new_export.csv" 3
chmod 644 "$EVPIPE_DATA_DIR/e2e_new_export.csv"
check "make reload (one new export) exits 0" make -s reload
after=$(count raw_data)
check "new export loaded: raw_data $raw -> $after (+3)" [ "$after" = $((raw + 3)) ]
check "marts include the new sessions" marts_match "$after"
check "rerun of the new export adds nothing" make -s reload
check "raw_data still $after" [ "$(count raw_data)" = "$after" ]

# --- 4b. real exports in other formats load beside it (tests/fixtures/exports) -------------

for f in norway_trondheim/ev_charging_reports.csv acn_data/acndata_sessions_caltech_2018.csv \
         steve_ocpp/transactions.csv; do
  cp "tests/fixtures/exports/$f" "$EVPIPE_DATA_DIR/e2e_${f%%/*}.csv"
done
chmod 644 "$EVPIPE_DATA_DIR"/e2e_*.csv
check "make reload (three real exports: Trondheim, ACN-Data, SteVe) exits 0" make -s reload
mixed=$(count raw_data)
check "real exports loaded: raw_data $after -> $mixed (+25 +21 +14)" [ "$mixed" = $((after + 60)) ]
profiles=$(sql app "SELECT GROUP_CONCAT(profile ORDER BY profile) FROM ingested_files WHERE file_path LIKE 'e2e\_%' AND profile <> 'ev_charging_patterns'" | tr -d '[:space:]')
check "each file read with its own profile ($profiles)" [ "$profiles" = "acn_data,norway_residential,steve_ocpp" ]
check "marts include every format" marts_match "$mixed"
after=$mixed

# --- 5. data survives down / up --------------------------------------------------------------

check "docker compose down" compose down --timeout 20
t=$(now)
check "docker compose up -d (again)" compose up -d
if wait_http_200 "$DASHBOARD_PORT" "$HTTP_TIMEOUT"; then
  pass "dashboard answers after restart (warm start $(elapsed "$t")s)"
else
  fail "dashboard answers after restart"
fi
code=$(worker_exit_code)
check "worker exits 0 after restart (got $code)" [ "$code" = 0 ]
check "data kept across down/up ($(count raw_data) == $after)" [ "$(count raw_data)" = "$after" ]

# --- 6. security: least privilege ------------------------------------------------------------

check "dashboard user can SELECT" [ "$(sql dashboard 'SELECT COUNT(*) FROM raw_data' | tr -d '[:space:]')" = "$after" ]
check "dashboard user cannot INSERT" denied "INSERT INTO schema_migrations (version) VALUES ('e2e')"
check "dashboard user cannot UPDATE" denied "UPDATE pipeline_metadata SET last_run = NULL"
check "dashboard user cannot DELETE" denied "DELETE FROM raw_data"
check "dashboard user cannot DROP" denied "DROP TABLE raw_data"
check "worker does not run as root" [ "$(compose run --rm --no-deps -T worker id -u | tr -d '[:space:]')" != 0 ]
check "database port is not published" [ -z "$(docker port "$(compose ps -q db)")" ]

# --- 7. security: secrets and exposure -------------------------------------------------------

secrets=$(compose exec -T db sh -c 'printf "%s\n" "$MYSQL_ROOT_PASSWORD" "$MYSQL_PASSWORD" "$DASHBOARD_DB_PASSWORD"')
app_image=$(docker inspect -f '{{.Config.Image}}' "$(compose ps -q dashboard)")
leaks_in() { # leaks_in TEXT: fails (and says which) if TEXT contains one of the passwords
  local s
  while IFS= read -r s; do
    [ -n "$s" ] && grep -qF -- "$s" <<<"$1" && { echo "    a password appears"; return 1; }
  done <<<"$secrets"
  return 0
}
post_bad_callback() { # a malformed Dash callback request; prints the raw response
  (
    exec 3<>"/dev/tcp/127.0.0.1/$DASHBOARD_PORT" || exit 1
    body='{"output":"kpi-sessions.children","inputs":[{"id":"nope"'
    printf 'POST /_dash-update-component HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' "${#body}" "$body" >&3
    cat <&3
  ) 2>/dev/null
}
check "no password in the app image's layers or config" leaks_in "$(docker history --no-trunc "$app_image"; docker image inspect "$app_image")"
check "no password in any service's logs" leaks_in "$(compose logs --no-color 2>&1)"
check "dashboard does not run as root" [ "$(compose exec -T dashboard id -u | tr -d '[:space:]')" != 0 ]
check "dashboard published on 127.0.0.1 only" bash -c '! docker port "$1" | grep -v "^8050/tcp -> 127\.0\.0\.1:"' _ "$(compose ps -q dashboard)"
check "Dash debug is off in the stack" [ "$(compose exec -T dashboard printenv DASH_DEBUG | tr -d '[:space:]')" = false ]
bad=$(post_bad_callback)
check "a malformed callback gets no stack trace" bash -c '! grep -qi traceback <<<"$1" && [ -n "$1" ]' _ "$bad"

# --- 8. a failing worker is visible, the dashboard stays up ----------------------------------

compose run --rm -T -e DB_PASSWORD=wrong-password -e EVPIPE_CONNECT_TIMEOUT=5 worker >/dev/null 2>&1
rc=$?
check "worker exits non-zero when it cannot log in (got $rc)" [ "$rc" -ne 0 ]
check "dashboard still answers 200" [ "$(http_status "$DASHBOARD_PORT")" = 200 ]

# --- 9. a read replica: docker compose --profile replica up (docs/replica.md) -----------------

rcompose() { compose --profile replica "$@"; }
layout() { http_get "$DASHBOARD_PORT" /_dash-layout; }
grouped() { echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; } # 12345 -> 12,345
wait_for() { # wait_for SECONDS command...: true once the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -lt "$deadline" ] || return 1; sleep 1; done
}
dashboard_reads() { # dashboard_reads WHERE SESSIONS: the status line's source and count
  local page; page=$(layout)
  grep -qF "\"title\":\"read from $1\"" <<<"$page" &&
    grep -qE "[^0-9,]$(grouped "$2") sessions" <<<"$page"
}
dashboard_says() { layout | grep -qF "$1"; }
same_on_both() { [ "$(sql_on db-replica app "$1")" = "$(sql app "$1")" ]; }
replica_caught_up() { # same sessions (count and checksum) and same mart totals
  same_on_both 'SELECT COUNT(*) FROM raw_data' && same_on_both 'CHECKSUM TABLE raw_data' &&
    same_on_both 'SELECT SUM(total_sessions), SUM(total_energy_kwh) FROM processed_station_metrics'
}
refused_on_replica() { # refused_on_replica app|dashboard ERROR_PATTERN: a write must fail so
  local out; out=$(sql_on db-replica "$1" "INSERT INTO schema_migrations (version) VALUES ('e2e-r')")
  grep -qE "$2" <<<"$out" || { echo "    got: ${out:-<no error>}"; return 1; }
}
replica_read_only() { [ "$(sql_on db-replica app 'SELECT @@global.read_only' | tr -d '[:space:]')" = "$1" ]; }

# An evpipe run holds its lock on the primary for 10 s while the replica starts: the seeding
# must wait for it (a full transform renames tables under a dump).
sql app "SELECT GET_LOCK(CONCAT('evpipe.run.', DATABASE()), 0), SLEEP(10)" >/dev/null &
locker=$!
sleep 1
t=$(now)
check "--profile replica up: db-replica seeded from a primary holding $after sessions" \
  rcompose up -d --wait --wait-timeout 300 db-replica
seeded=$(elapsed "$t")
wait "$locker"
echo "    replica seeded and healthy in ${seeded}s (after waiting for the run lock)"
waited=$(rcompose logs --no-color db-replica 2>&1 | sed -n 's/.*waited \([0-9]*\)s for evpipe.s run lock.*/\1/p' | head -1)
check "seeding waited for the evpipe run in progress (${waited:-?}s)" [ "${waited:-0}" -ge 3 ]
check "replica holds the primary's rows and marts (count, CHECKSUM TABLE, mart totals)" replica_caught_up
check "dashboard reads the replica (status: read from db-replica)" \
  wait_for 30 dashboard_reads db-replica:3306 "$after"
check "replica runs with read_only = 1" replica_read_only 1
check "replica refuses the worker's user a write (ERROR 1290, read-only)" \
  refused_on_replica app "ERROR 1290"
check "replica refuses the dashboard's user a write" refused_on_replica dashboard "ERROR (1290|1142)"
lag=$(sql_on db-replica app "SELECT TIMESTAMPDIFF(SECOND, beat_at, UTC_TIMESTAMP()) FROM replication_heartbeat")
check "primary's heartbeat reaches the replica (lag ${lag}s)" [ "${lag:-99}" -le 5 ] 2>/dev/null

new_export "$EVPIPE_DATA_DIR/e2e_replica_1.csv" 4
chmod 644 "$EVPIPE_DATA_DIR/e2e_replica_1.csv"
check "make reload on the primary exits 0" make -s reload
after=$((after + 4))
check "the reload appears on the dashboard reading the replica ($after sessions)" \
  wait_for 30 dashboard_reads db-replica:3306 "$after"

check "kill db-replica" rcompose kill db-replica
new_export "$EVPIPE_DATA_DIR/e2e_replica_2.csv" 5
chmod 644 "$EVPIPE_DATA_DIR/e2e_replica_2.csv"
check "make reload with the replica dead exits 0" make -s reload
after=$((after + 5))
check "dashboard answers 200 with the replica dead" [ "$(http_status "$DASHBOARD_PORT" /_dash-layout)" = 200 ]
check "dashboard says the replica is not reachable" \
  wait_for 30 dashboard_says "The read replica db-replica is not reachable"
check "dashboard then shows the primary's data ($after sessions)" \
  wait_for 30 dashboard_reads "db (primary)" "$after"

t=$(now)
check "restart db-replica" rcompose up -d --wait --wait-timeout 300 db-replica
check "replica catches up with nothing lost" wait_for 60 replica_caught_up
echo "    replica back and caught up in $(elapsed "$t")s"
check "dashboard reads the replica again, notice gone" \
  wait_for 30 dashboard_reads db-replica:3306 "$after"
no_notice() { # three layouts in a row (both gunicorn workers) without the notice
  local i; for i in 1 2 3; do ! layout | grep -qF "not reachable" || return 1; done
}
check "no notice once the replica is back (every dashboard process re-checks within 10 s)" \
  wait_for 30 no_notice

# the failover runbook (docs/replica.md): the primary dies, the replica is promoted
check "stop the primary (db)" rcompose stop db
check "dashboard keeps serving from the replica and says the primary is down" \
  wait_for 30 dashboard_says "The primary database (db) is not reachable"
check "promote db-replica (db/replica/promote.sh)" \
  rcompose exec -T db-replica bash /evpipe-db/replica/promote.sh
new_export "$EVPIPE_DATA_DIR/e2e_replica_3.csv" 6
chmod 644 "$EVPIPE_DATA_DIR/e2e_replica_3.csv"
# the runbook's .env lines, as the environment of the compose commands that follow
promoted=(env PRIMARY_DB_HOST=db-replica REPLICA_READ_ONLY=OFF "${compose_cmd[@]}")
check "db-replica and dashboard recreated for the promoted server" \
  "${promoted[@]}" --profile replica up -d --wait --wait-timeout 300 --no-deps db-replica dashboard
check "promoted replica stays writable after its restart (read_only = 0)" replica_read_only 0
check "worker loads into the promoted replica" "${promoted[@]}" run --rm --no-deps -T worker
after=$((after + 6))
check "the promoted replica holds every session ($after)" [ "$(count_on db-replica raw_data)" = "$after" ]
check "dashboard shows the new data from the promoted server" \
  wait_for "$HTTP_TIMEOUT" dashboard_reads "db-replica (primary)" "$after"
repl_secret=$(rcompose exec -T db-replica printenv REPLICATION_PASSWORD)
binlogs() { # the binary logs of a database service, as text
  rcompose exec -T "$1" sh -c 'cat /var/lib/mysql/binlog.[0-9]*' 2>/dev/null | tr -c '[:print:]' '\n'
}
secrets=$(printf '%s\n%s' "$secrets" "$repl_secret")
check "no password in the replica's logs or either server's binary log" \
  leaks_in "$(rcompose logs --no-color 2>&1; binlogs db-replica; rcompose start db >/dev/null 2>&1; binlogs db)"

echo "cold start: ${cold}s from 'up -d --build' (images built, empty volume) to dashboard HTTP 200;" \
     "worker finished after ${worker_done}s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
