#!/usr/bin/env bash
# A local OrleansLocks cluster on this machine: PostgreSQL, N headless silos and the Api, all on loopback.
#
#   deploy/local/cluster.sh start [--silos N] [--cohosted] [--detach] [--api-port P] [--bin DIR]
#   deploy/local/cluster.sh status
#   deploy/local/cluster.sh stop
#
# start   Starts PostgreSQL from the OS packages (installs them when missing, which needs root and apt-get) on
#         127.0.0.1 and a free port, builds the service once (dotnet publish of Api, whose output also runs the
#         headless silo), starts N headless silos (`dotnet OrleansLocks.Silo.dll`, default 3) and the Api as a
#         gateway in front of them, waits until the Api's /health/ready answers 200 and GET /cluster shows the silos
#         active, and prints the URLs. In the foreground (default) it then waits: Ctrl-C stops everything. With
#         --detach it returns once the cluster is ready; `stop` ends it.
#           --silos N     headless silos (1..16, default 3)
#           --cohosted    the Api co-hosts a silo of its own (Api:Mode=CoHosted) instead of being a gateway, so
#                         the cluster has N + 1 silos
#           --api-port P  the Api's port (default 5080 when free, otherwise a free port)
#           --bin DIR     use an existing build output that holds OrleansLocks.Api.dll and OrleansLocks.Silo.dll
#                         instead of building (tests pass their own output directory)
#         Starting a cluster that already runs prints its URLs and changes nothing.
# status  Shows what runs and where; exit code 0 when the cluster runs, 3 when none is running.
# stop    Stops the Api, then the silos (SIGTERM: they hand their locks over and leave the membership table
#         gracefully), then PostgreSQL, and deletes the state directory. Nothing running is fine.
#
# Everything lives in one state directory, removed by `stop`: the published binaries, PostgreSQL's data, pid
# files, logs (logs/*.log) and cluster.env (ports and URLs). It is $ORLEANSLOCKS_CLUSTER_DIR, by default
# /tmp/orleanslocks-cluster-<uid> (under /tmp also when TMPDIR is elsewhere and we are root: the postgres user must
# reach it). Every process listens on 127.0.0.1 only. The cluster gets a fresh random silo-to-silo secret and
# database password on every start. The Api allows anonymous access and anonymous admin (force-release): this is a
# cluster for trying things on one machine, never an exposed service.
# shellcheck disable=SC2153  # SILOS, API_MODE, API_URL, PG_PORT come from cluster.env (sourced)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
script_path="$script_dir/$(basename "${BASH_SOURCE[0]}")"

if [[ -n "${ORLEANSLOCKS_CLUSTER_DIR:-}" ]]; then
    state_dir="$ORLEANSLOCKS_CLUSTER_DIR"
elif [[ $EUID -eq 0 ]]; then
    state_dir="/tmp/orleanslocks-cluster-$EUID"
else
    state_dir="${TMPDIR:-/tmp}/orleanslocks-cluster-$EUID"
fi
state_dir="${state_dir%/}"
env_file="$state_dir/cluster.env"

# The state directory is trusted (cluster.env is sourced, pids are signalled): under a shared /tmp it must be ours.
if [[ -e "$state_dir" && ! -O "$state_dir" ]]; then
    printf 'cluster.sh: error: %s exists and is not owned by you; set ORLEANSLOCKS_CLUSTER_DIR elsewhere\n' "$state_dir" >&2
    exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# A build server or node that outlives the build would be a leftover of ours.
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0

readonly ready_timeout="${ORLEANSLOCKS_CLUSTER_READY_TIMEOUT:-180}"   # seconds for the whole cluster to be ready
readonly stop_timeout=60                                             # seconds a process may take to stop gracefully

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,8p' "$script_path" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# --- locking -----------------------------------------------------------------------------------------------------

# start and stop must not interleave (two starts would make two clusters). They lock this script file, which outlives
# the state directory, so no lock file is left behind. The processes start starts must not inherit the lock's file
# descriptor (9), or they would hold the lock for as long as they run.
lock() {
    exec 9<"$script_path"
    flock -w 600 9 || die "another cluster.sh start or stop is still busy"
}
unlock() { flock -u 9 2>/dev/null || true; }

# --- processes ---------------------------------------------------------------------------------------------------

# Whether the pid in file $1 is alive and still runs a command whose line contains $2 (a pid file outliving its
# process, e.g. after a reboot, must not make us signal an unrelated process that reused the pid).
pid_alive() {
    local file="$1" expect="$2" pid
    [[ -f "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$expect"
}

# Starts a command in a session of its own (so a Ctrl-C in our terminal reaches only this script, which then stops
# things in order), detached from our terminal, with its output in a log file; the child writes its own pid.
spawn() {
    local pid_file="$1" log_file="$2"
    shift 2
    # shellcheck disable=SC2016  # expanded by the child shell
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' spawn "$pid_file" "$@" </dev/null >>"$log_file" 2>&1 9<&- &
    local _
    for _ in $(seq 1 100); do
        [[ -s "$pid_file" ]] && return 0
        sleep 0.05
    done
    die "could not start $*"
}

# SIGTERM to the process of pid file $1 (command line containing $2); SIGKILL after $stop_timeout seconds.
stop_process() {
    local file="$1" expect="$2" name="$3" pid waited=0
    if ! pid_alive "$file" "$expect"; then
        rm -f "$file"
        return 0
    fi
    pid="$(<"$file")"
    kill -TERM "$pid" 2>/dev/null || true
    while pid_alive "$file" "$expect"; do
        if (( waited >= stop_timeout * 10 )); then
            log "$name (pid $pid) did not stop within ${stop_timeout}s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    rm -f "$file"
}

# --- ports -------------------------------------------------------------------------------------------------------

taken_ports=" "

port_in_use() {
    # A connection that succeeds means someone listens there.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port that looks free now and that this run has not handed out yet. (Another program can still take it before
# our process binds it; that process then fails to start, and start says so.)
free_port() {
    local port _
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        [[ "$taken_ports" == *" $port "* ]] && continue
        port_in_use "$port" && continue
        taken_ports+="$port "
        printf '%s\n' "$port"
        return 0
    done
    die "found no free port on 127.0.0.1"
}

# --- HTTP --------------------------------------------------------------------------------------------------------

# Prints the body of GET $1 and succeeds when the status is 200.
http_get() {
    curl -fsS --max-time 5 "$1" 2>/dev/null
}

# --- PostgreSQL --------------------------------------------------------------------------------------------------

pg_bin=""
pg_as_postgres=false
[[ $EUID -eq 0 ]] && pg_as_postgres=true

find_pg_bin() {
    local best="" best_version=-1 initdb version
    for initdb in /usr/lib/postgresql/*/bin/initdb; do
        [[ -x "$initdb" ]] || continue
        version="$(basename "$(dirname "$(dirname "$initdb")")")"
        [[ "$version" =~ ^[0-9]+$ ]] || continue
        if (( version > best_version )); then
            best_version="$version"
            best="$(dirname "$initdb")"
        fi
    done
    [[ -n "$best" ]] && printf '%s\n' "$best"
}

apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q "$@" </dev/null
}

install_pg() {
    command -v apt-get >/dev/null || die "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb) and apt-get is not available: install the PostgreSQL server"
    [[ $EUID -eq 0 ]] || die "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): install it (sudo apt-get install postgresql) or run this as root"
    log "installing PostgreSQL from the OS packages"
    apt_get update >&2 || die "apt-get update failed"
    # postgresql-common first, so that the Debian "main" cluster is not created (and so not started) by the
    # package: this script runs a server of its own.
    apt_get install -y --no-install-recommends postgresql-common >&2 || die "could not install postgresql-common"
    if [[ -f /etc/postgresql-common/createcluster.conf ]]; then
        sed -ri 's/^[#[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
    fi
    apt_get install -y --no-install-recommends postgresql >&2 || die "could not install postgresql"
}

pg_run() {
    if [[ "$pg_as_postgres" == true ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

ensure_pg_bin() {
    pg_bin="$(find_pg_bin || true)"
    if [[ -z "$pg_bin" ]]; then
        install_pg
        pg_bin="$(find_pg_bin || true)"
        [[ -n "$pg_bin" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin after installing"
    fi
    if [[ "$pg_as_postgres" == true ]]; then
        id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist (it comes with the postgresql packages)"
    fi
}

# Starts the server; sets pg_port and pg_password.
start_pg() {
    local pg_dir="$state_dir/pg" attempt
    mkdir -m 700 "$pg_dir"
    [[ "$pg_as_postgres" == true ]] && chown postgres: "$pg_dir"
    pg_password="$(random_hex 16)"
    printf '%s\n' "$pg_password" >"$pg_dir/pwfile"
    chmod 600 "$pg_dir/pwfile"
    [[ "$pg_as_postgres" == true ]] && chown postgres: "$pg_dir/pwfile"

    # Local (socket) connections are trusted so that this script can create the database; TCP needs the password.
    pg_run "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --pwfile="$pg_dir/pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --no-sync >"$state_dir/logs/initdb.log" 2>&1 \
        || { cat "$state_dir/logs/initdb.log" >&2; die "initdb failed (log: $state_dir/logs/initdb.log)"; }
    rm -f "$pg_dir/pwfile"
    pg_run tee -a "$pg_dir/data/postgresql.conf" >/dev/null <<EOF

# cluster.sh: loopback only; room for every silo's pool (Maximum Pool Size in the connection string).
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pg_dir'
max_connections = 200
EOF
    for attempt in 1 2 3 4 5; do
        pg_port="$(free_port)"
        if pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -o "-p $pg_port" -l "$pg_dir/server.log" -w -t 60 start >/dev/null 2>&1 9<&-; then
            pg_run "$pg_bin/createdb" -h "$pg_dir" -p "$pg_port" -U postgres orleanslocks \
                || die "could not create the database (log: $pg_dir/server.log)"
            return 0
        fi
        log "PostgreSQL did not start on port $pg_port (attempt $attempt of 5)"
    done
    cat "$pg_dir/server.log" >&2 2>/dev/null || true
    die "could not start PostgreSQL"
}

stop_pg() {
    local data="$state_dir/pg/data"
    [[ -f "$data/postmaster.pid" ]] || return 0
    # A server that died (or a reboot) leaves its pid file behind: nothing to stop then.
    local pid
    pid="$(head -n 1 "$data/postmaster.pid")"
    [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$data" || return 0
    [[ -n "$pg_bin" ]] || pg_bin="$(find_pg_bin || true)"
    [[ -n "$pg_bin" ]] || { log "cannot stop PostgreSQL in $data: its binaries are gone"; return 1; }
    pg_run "$pg_bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 \
        || pg_run "$pg_bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
        || { log "could not stop PostgreSQL in $data"; return 1; }
}

# --- state -------------------------------------------------------------------------------------------------------

random_hex() {
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# Whether a cluster runs: its settings exist and its Api process is alive.
cluster_running() {
    [[ -f "$env_file" ]] || return 1
    # shellcheck disable=SC1090
    source "$env_file"
    pid_alive "$state_dir/pids/api.pid" "OrleansLocks.Api.dll"
}

print_urls() {
    # shellcheck disable=SC1090
    source "$env_file"
    local mode="the Api as a gateway" i
    [[ "$API_MODE" == CoHosted ]] && mode="the Api co-hosting a silo"
    printf '\nLocal OrleansLocks cluster: %s headless silo(s), %s, PostgreSQL.\n' "$SILOS" "$mode"
    printf '  API          %s\n' "$API_URL"
    printf '  Swagger UI   %s/swagger\n' "$API_URL"
    printf '  OpenAPI      %s/openapi/v1.json\n' "$API_URL"
    printf '  Cluster      %s/cluster\n' "$API_URL"
    printf '  Health       %s/health/ready\n' "$API_URL"
    for i in $(seq 1 "$SILOS"); do
        local port_var="SILO_${i}_HTTP_PORT"
        printf '  silo-%-7s http://127.0.0.1:%s/health/ready (pid %s)\n' "$i" "${!port_var}" "$(cat "$state_dir/pids/silo-$i.pid" 2>/dev/null || echo '?')"
    done
    printf '  PostgreSQL   127.0.0.1:%s, database orleanslocks (connection string in %s)\n' "$PG_PORT" "$env_file"
    printf '  Logs         %s/logs/\n' "$state_dir"
    printf 'Stop it with %s stop%s.\n\n' "$script_path" "${1:-}"
}

# --- start -------------------------------------------------------------------------------------------------------

silos=3
cohosted=false
detach=false
api_port=""
bin_dir=""

parse_start_args() {
    while (( $# > 0 )); do
        case "$1" in
            --silos) [[ $# -ge 2 ]] || usage; silos="$2"; shift 2 ;;
            --silos=*) silos="${1#*=}"; shift ;;
            --cohosted) cohosted=true; shift ;;
            --detach|-d) detach=true; shift ;;
            --api-port) [[ $# -ge 2 ]] || usage; api_port="$2"; shift 2 ;;
            --api-port=*) api_port="${1#*=}"; shift ;;
            --bin) [[ $# -ge 2 ]] || usage; bin_dir="$2"; shift 2 ;;
            --bin=*) bin_dir="${1#*=}"; shift ;;
            -h|--help) usage ;;
            *) log "unknown option: $1"; usage ;;
        esac
    done
    [[ "$silos" =~ ^[0-9]+$ ]] && (( silos >= 1 && silos <= 16 )) || die "--silos must be a number from 1 to 16 (it is '$silos')"
    if [[ -n "$api_port" ]]; then
        [[ "$api_port" =~ ^[0-9]+$ ]] && (( api_port >= 1 && api_port <= 65535 )) || die "--api-port must be a port number (it is '$api_port')"
    fi
}

build() {
    if [[ -n "$bin_dir" ]]; then
        bin_dir="$(cd "$bin_dir" && pwd)" || die "--bin $bin_dir: no such directory"
        [[ -f "$bin_dir/OrleansLocks.Api.dll" && -f "$bin_dir/OrleansLocks.Silo.dll" && -f "$bin_dir/OrleansLocks.Silo.runtimeconfig.json" ]] \
            || die "--bin $bin_dir must hold OrleansLocks.Api.dll and a runnable OrleansLocks.Silo.dll"
        app_dir="$bin_dir"
        return 0
    fi
    command -v dotnet >/dev/null || die "dotnet (the .NET 10 SDK) is not on PATH"
    app_dir="$state_dir/app"
    log "building (dotnet publish Api -c Release; log: $state_dir/logs/build.log)"
    # The Api's publish output also holds a runnable headless silo (OrleansLocks.Silo.dll with its runtimeconfig),
    # so one build serves every process; running from a copy keeps the cluster independent of later rebuilds.
    dotnet publish "$repo_root/Api/Api.csproj" -c Release -o "$app_dir" >"$state_dir/logs/build.log" 2>&1 \
        || { tail -n 30 "$state_dir/logs/build.log" >&2; die "the build failed (log: $state_dir/logs/build.log)"; }
}

# The environment every process shares (as env(1) arguments).
common_env() {
    local connection="Host=127.0.0.1;Port=$pg_port;Database=orleanslocks;Username=postgres;Password=$pg_password;Maximum Pool Size=20"
    printf '%s\n' \
        "DOTNET_ENVIRONMENT=Production" \
        "ASPNETCORE_ENVIRONMENT=Production" \
        "Logging__LogLevel__Default=Information" \
        "Logging__LogLevel__Microsoft.AspNetCore=Warning" \
        "Storage__Provider=Postgres" \
        "ConnectionStrings__Postgres=$connection" \
        "Silo__ClusterId=local" \
        "Silo__ListenAddress=127.0.0.1" \
        "Silo__AdvertisedAddress=127.0.0.1" \
        "Silo__SiloPort=0" \
        "Silo__ClusterSecret=$cluster_secret" \
        "Security__AllowAnonymous=true" \
        "Api__AllowAnonymousAdmin=true"
}

# Waits until the Api is ready and GET /cluster shows $1 active silos; fails early when a process died.
wait_ready() {
    local expected="$1" deadline=$((SECONDS + ready_timeout)) body active file name
    while (( SECONDS < deadline )); do
        for file in "$state_dir"/pids/*.pid; do
            name="$(basename "$file" .pid)"
            local dll=OrleansLocks.Silo.dll
            [[ "$name" == api ]] && dll=OrleansLocks.Api.dll
            if ! pid_alive "$file" "$dll"; then
                log "$name exited during start-up; the end of its log ($state_dir/logs/$name.log):"
                tail -n 40 "$state_dir/logs/$name.log" >&2 || true
                return 1
            fi
        done
        if http_get "$API_URL/health/ready" >/dev/null && body="$(http_get "$API_URL/cluster")"; then
            active="$(grep -o '"status":"active"' <<<"$body" | wc -l)"
            if (( active >= expected )); then
                return 0
            fi
        fi
        sleep 0.5
    done
    log "the cluster was not ready within ${ready_timeout}s (logs: $state_dir/logs/)"
    return 1
}

# Set when start succeeded in --detach mode; until then, any exit of start (an error, Ctrl-C, a TERM, a foreground
# cluster being stopped) stops whatever this start started.
start_done=false

# shellcheck disable=SC2317  # invoked by the EXIT trap
on_start_exit() {
    local status=$?
    trap - EXIT INT TERM
    if [[ "$start_done" != true ]]; then
        (( status == 0 )) || log "stopping what was started"
        lock
        do_stop quiet
    fi
    exit "$status"
}

cmd_start() {
    parse_start_args "$@"
    command -v curl >/dev/null || die "curl is needed (apt-get install curl)"
    command -v setsid >/dev/null || die "setsid is needed (util-linux)"
    command -v flock >/dev/null || die "flock is needed (util-linux)"
    lock

    if cluster_running; then
        local wanted_mode=Gateway
        [[ "$cohosted" == true ]] && wanted_mode=CoHosted
        if [[ "$SILOS" != "$silos" || "$API_MODE" != "$wanted_mode" ]]; then
            die "a local cluster with $SILOS silo(s) (Api $API_MODE) already runs: stop it first ($script_path stop)"
        fi
        log "a local cluster already runs; nothing started"
        print_urls
        exit 0
    fi
    if [[ -e "$state_dir" ]]; then
        log "removing what a cluster that no longer runs left in $state_dir"
        do_stop quiet
    fi

    ensure_pg_bin
    trap on_start_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$state_dir"
    chmod 755 "$state_dir"   # the postgres user must reach pg/ when we are root
    mkdir -m 700 "$state_dir/pids" "$state_dir/logs"

    build
    start_pg
    log "PostgreSQL $(basename "$(dirname "$pg_bin")") on 127.0.0.1:$pg_port"

    cluster_secret="$(random_hex 32)"
    if [[ -z "$api_port" ]]; then
        api_port=5080
        if port_in_use "$api_port"; then
            api_port="$(free_port)"
        fi
    elif port_in_use "$api_port"; then
        die "--api-port $api_port: something already listens there"
    fi
    taken_ports+="$api_port "
    API_URL="http://127.0.0.1:$api_port"
    local api_mode=Gateway expected="$silos" i port
    if [[ "$cohosted" == true ]]; then
        api_mode=CoHosted
        expected=$((silos + 1))
    fi

    local -a env_args
    mapfile -t env_args < <(common_env)
    {
        printf 'SILOS=%s\nAPI_MODE=%s\nAPI_URL=%s\nPG_PORT=%s\nAPP_DIR=%q\n' "$silos" "$api_mode" "$API_URL" "$pg_port" "$app_dir"
        printf 'POSTGRES_CONNECTION_STRING=%q\n' "Host=127.0.0.1;Port=$pg_port;Database=orleanslocks;Username=postgres;Password=$pg_password"
    } >"$env_file"
    chmod 600 "$env_file"

    cd "$app_dir"   # the content root: appsettings.json of the build
    for i in $(seq 1 "$silos"); do
        port="$(free_port)"
        printf 'SILO_%s_HTTP_PORT=%s\n' "$i" "$port" >>"$env_file"
        spawn "$state_dir/pids/silo-$i.pid" "$state_dir/logs/silo-$i.log" \
            env "${env_args[@]}" "Silo__SiloName=silo-$i" "ASPNETCORE_URLS=http://127.0.0.1:$port" \
            dotnet "$app_dir/OrleansLocks.Silo.dll"
    done
    spawn "$state_dir/pids/api.pid" "$state_dir/logs/api.log" \
        env "${env_args[@]}" "Silo__SiloName=api" "Api__Mode=$api_mode" "ASPNETCORE_URLS=$API_URL" \
        dotnet "$app_dir/OrleansLocks.Api.dll"
    cd "$repo_root"

    log "waiting for the Api and $expected active silo(s)"
    wait_ready "$expected" || exit 1

    if [[ "$detach" == true ]]; then
        start_done=true
        print_urls
        exit 0
    fi

    # Foreground: stay until Ctrl-C (or until `stop` from elsewhere removed the state). Silos that die meanwhile
    # are left alone: killing one is how one tries failover.
    print_urls ', or Ctrl-C here'
    unlock
    while [[ -f "$env_file" ]]; do
        sleep 1
    done
    log "the cluster was stopped"
}

# --- stop and status ---------------------------------------------------------------------------------------------

# Stops everything the state directory names, in order, and removes the directory. "quiet": no "nothing runs".
do_stop() {
    if [[ ! -e "$state_dir" ]]; then
        [[ "${1:-}" == quiet ]] || log "no local cluster is running ($state_dir does not exist)"
        return 0
    fi
    local file name
    # The Api first (clients get refused connections rather than 503s), then every silo at once: each hands its
    # locks over as it leaves (the last one has nobody to hand them to; its locks stay in PostgreSQL).
    stop_process "$state_dir/pids/api.pid" "OrleansLocks.Api.dll" api
    local -a waits=()
    for file in "$state_dir"/pids/silo-*.pid; do
        [[ -e "$file" ]] || continue
        name="$(basename "$file" .pid)"
        stop_process "$file" "OrleansLocks.Silo.dll" "$name" &
        waits+=($!)
    done
    (( ${#waits[@]} == 0 )) || wait "${waits[@]}" || true
    stop_pg || die "PostgreSQL still runs in $state_dir/pg/data: stop it by hand, then run stop again"
    rm -rf "$state_dir"
    [[ "${1:-}" == quiet ]] || log "stopped; removed $state_dir"
}

cmd_stop() {
    (( $# == 0 )) || usage
    lock
    do_stop
}

cmd_status() {
    (( $# == 0 )) || usage
    if ! cluster_running; then
        if [[ -e "$state_dir" ]]; then
            log "no local cluster is running, but $state_dir is left over (run stop to remove it)"
        else
            log "no local cluster is running"
        fi
        exit 3
    fi
    print_urls
    local file name dll state
    for file in "$state_dir"/pids/*.pid; do
        name="$(basename "$file" .pid)"
        dll=OrleansLocks.Silo.dll
        [[ "$name" == api ]] && dll=OrleansLocks.Api.dll
        state=exited
        pid_alive "$file" "$dll" && state=running
        printf '  %-8s pid %-8s %s\n' "$name" "$(<"$file")" "$state"
    done
    printf '\nGET %s/cluster:\n' "$API_URL"
    http_get "$API_URL/cluster" || printf '(no answer)'
    printf '\n'
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    *) usage ;;
esac
