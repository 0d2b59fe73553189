#!/usr/bin/env bash
# Runs the benchmarks of docs/benchmarks.md: starts a throwaway PostgreSQL, etcd and Redis on loopback (durable
# settings, data in a temporary directory), builds the Api and the load generator in Release, runs every workload
# against every system, prints the Markdown report, and stops and deletes everything on exit (also on Ctrl-C).
#
#   bench/run.sh                          the bounded default run (a few seconds per cell, under ~10 minutes)
#   bench/run.sh --duration 30 --full     longer cells, a million names, 100k leases held
#   bench/run.sh --systems etcd,redis --workloads uncontended,hot
# Every other flag goes to the load generator (see its --help text in bench/Benchmarks/BenchOptions.cs).
# Environment: BENCH_OUT (report file, default bench/results/<UTC time>.md), BENCH_KEEP_LOGS=1 (keep the work dir),
# BENCH_API_DLL (measure this OrleansLocks.Api.dll instead of building ./Api).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d /tmp/orleanslocks-bench.XXXXXX)"
chmod 755 "$work"
pids=()
pg_bin=""

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

cleanup() {
  local status=$?
  set +e
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    # Bounded wait: at most ~10 s per process, then SIGKILL.
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [[ -n "$pg_bin" && -f "$work/pg/data/postmaster.pid" ]]; then
    as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1
  fi
  if [[ "${BENCH_KEEP_LOGS:-0}" == 1 ]]; then
    log "work directory kept: $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_postgres() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_until() { # wait_until <seconds> <what> <command...>
  local limit=$1 what=$2; shift 2
  for _ in $(seq 1 $((limit * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  log "$what did not come up within ${limit}s"; return 1
}

# --- what the run needs, from the OS packages --------------------------------------------------------------------
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v redis-server >/dev/null || need+=(redis-server)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
  if [[ "$(id -u)" != 0 ]]; then log "missing: ${need[*]} (apt-get install -y ${need[*]})"; exit 1; fi
  log "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# --- PostgreSQL: fsync on, synchronous_commit on (the defaults, said explicitly) ----------------------------------
pg_port=$(free_port)
mkdir -p "$work/pg"
[[ "$(id -u)" == 0 ]] && chown postgres: "$work/pg"
as_postgres "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
cat >>"$work/pg/data/postgresql.conf" <<CONF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
max_connections = 400
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 256MB
CONF
as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 60 start >/dev/null
log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"

# --- etcd: one member, default durability (WAL fsynced per commit) ------------------------------------------------
etcd_port=$(free_port); etcd_peer_port=$(free_port)
etcd --name bench --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "bench=http://127.0.0.1:$etcd_peer_port" --initial-cluster-state new \
  --logger zap --log-outputs "$work/etcd.log" --log-level warn &
pids+=($!)
wait_until 30 etcd etcdctl --endpoints "127.0.0.1:$etcd_port" endpoint health
log "etcd $(etcd --version | awk '/etcd Version/ {print $3}') on 127.0.0.1:$etcd_port"

# --- Redis: AOF with fsync before every reply, no RDB snapshots ---------------------------------------------------
redis_port=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --protected-mode yes --dir "$work/redis" \
  --appendonly yes --appendfsync always --save '' --daemonize no --logfile "$work/redis.log" &
pids+=($!)
wait_until 30 redis redis-cli -p "$redis_port" ping
log "Redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/') on 127.0.0.1:$redis_port (appendfsync always)"

# --- build --------------------------------------------------------------------------------------------------------
log "building the load generator and the Api (Release)"
dotnet build "$root/bench/Benchmarks/Benchmarks.csproj" -c Release -v q -nologo >"$work/build-bench.log" 2>&1 \
  || { tail -30 "$work/build-bench.log"; exit 1; }
# The probe (a startup hook) that lets the many-names cell read the service's live heap; optional.
if dotnet build "$root/bench/Probe/Probe.csproj" -c Release -v q -nologo -o "$work/probe-bin" >"$work/build-probe.log" 2>&1; then
  export BENCH_PROBE_DLL="$work/probe-bin/OrleansLocks.BenchProbe.dll"
else
  log "the benchmark probe does not build; live-heap figures will be missing (see $work/build-probe.log)"
fi
if [[ -n "${BENCH_API_DLL:-}" ]]; then
  api_dll="$BENCH_API_DLL"   # an Api built elsewhere (another branch, another configuration), used as it is
elif api_dll="$root/Api/bin/Release/net10.0/OrleansLocks.Api.dll"; ! dotnet build "$root/Api/Api.csproj" -c Release -v q -nologo >"$work/build-api.log" 2>&1; then
  log "the Api does not build; the service rows will be missing (see $work/build-api.log)"
  tail -10 "$work/build-api.log" >&2
fi

# --- run ----------------------------------------------------------------------------------------------------------
mkdir -p "$root/bench/results"
out="${BENCH_OUT:-$root/bench/results/$(date -u +%Y%m%dT%H%M%SZ).md}"
log "running; report to $out"
dotnet "$root/bench/Benchmarks/bin/Release/net10.0/OrleansLocks.Benchmarks.dll" run \
  --postgres "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Timeout=30;Command Timeout=120" \
  --etcd "http://127.0.0.1:$etcd_port" \
  --redis "127.0.0.1:$redis_port" \
  --api-dll "$api_dll" \
  --work-dir "$work" \
  --out "$out" \
  "$@" &
bench_pid=$!
pids=("$bench_pid" "${pids[@]}")
status=0
wait "$bench_pid" || status=$?
if ((status != 0)); then
  log "the load generator exited with status $status$( ((status > 128)) && echo " (signal $((status - 128)))")"
  exit "$status"
fi
