# Shared by bench/push and bench/waiting (sourced): a release `twofold serve` on a fresh database,
# and the clean-up (servers stopped, database dropped, temporary directory removed) on any exit.
#   bench_init sqlite|postgres   -> DIR, BIN, environment for the server and the CLI
#   bench_start NAME             -> starts an instance; sets ${NAME}_PID and ${NAME}_BASE
# The environment raises the limits a benchmark would hit: the push cap (TWOFOLD_PUSH__CAP_PER_WINDOW,
# the default of the console's "Pushes per user per window"), lockout and the applications' rate limit.

command -v psql >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null; }
python3 -c "import duo_client, requests, cryptography" 2>/dev/null ||
  python3 -m pip install --quiet duo_client requests cryptography
cargo build --release --quiet
BIN=$PWD/target/release/twofold
# Many connections: as many descriptors as we may have (root may raise the hard limit too).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

BENCH_PIDS=()
bench_cleanup() {
  for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${BENCH_DBNAME:-}" ]; then psql "$PGURL" -qc "DROP DATABASE IF EXISTS $BENCH_DBNAME" || true; fi
  if [ -n "${DIR:-}" ]; then rm -rf "$DIR"; fi
}
trap bench_cleanup EXIT

bench_init() {
  DIR=$(mktemp -d)
  export TWOFOLD_DATA_DIR="$DIR" TWOFOLD_LOG=${TWOFOLD_LOG:-warn}
  export TWOFOLD_MASTER_KEY="$(head -c32 /dev/urandom | base64)"
  export TWOFOLD_PUSH__CAP_PER_WINDOW=${TWOFOLD_PUSH__CAP_PER_WINDOW:-1000000}
  export TWOFOLD_LOCKOUT__MAX_FAILURES=1000000 TWOFOLD_APPLICATIONS__RATE_LIMIT_PER_MINUTE=0
  if [ "$1" = postgres ]; then
    PGURL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    BENCH_DBNAME="twofold_bench_$$"
    psql "$PGURL" -qc "CREATE DATABASE $BENCH_DBNAME"
    export TWOFOLD_DATABASE_URL="${PGURL%/*}/$BENCH_DBNAME"
  fi
  # The CLI (user add, app add) reads the same environment; it needs the schema: migrate first.
  "$BIN" migrate >/dev/null
}

bench_start() {
  local port
  port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  TWOFOLD_BIND="127.0.0.1:$port" "$BIN" serve >"$DIR/$1.out" 2>"$DIR/$1.log" &
  local pid=$!
  BENCH_PIDS+=("$pid")
  printf -v "${1}_PID" '%s' "$pid"
  printf -v "${1}_BASE" '%s' "http://127.0.0.1:$port"
  local i=0
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$DIR/$1.log" >&2; echo "$1 did not start" >&2; exit 1; }
    sleep 0.05
    i=$((i + 1))
    [ "$i" -lt 600 ] || { echo "$1 not ready after 30 s" >&2; exit 1; }
  done
}

rss_mb() { echo $(( $(ps -o rss= -p "$1") / 1024 )); }
