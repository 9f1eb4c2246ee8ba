# shellcheck shell=bash
# Make sure the local PostgreSQL and Redis the app and tests use are running.
#
# Sourced (by scripts/test, scripts/run and .ci/run), never executed: it only
# defines functions, so sourcing it has no side effects and it works both
# under `set -euo pipefail` and in an interactive shell.
#
#   chatapp_ensure_services --best-effort  # warn if something stays down
#   chatapp_ensure_services --required     # fail (return 1) if something stays down
#
# Both services are expected on their default ports on 127.0.0.1, which is
# what the app's configuration and the tests use.

_chatapp_svc_log() { printf '[services] %s\n' "$*" >&2; }

# Is Redis answering? Prefer a real PING; without redis-cli fall back to a
# bare TCP connect, which at least tells "nothing listening" apart.
_chatapp_redis_up() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == "PONG" ]]
    else
        (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null
    fi
}

# Is PostgreSQL accepting connections? Same fallback idea as for Redis.
_chatapp_postgres_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p 5432
    else
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

# Poll a check function for up to ~10 s: both servers daemonize before they
# accept connections, so "start returned" does not mean "ready".
_chatapp_wait_for() {
    local check=$1 i
    for ((i = 0; i < 20; i++)); do
        "$check" && return 0
        sleep 0.5
    done
    return 1
}

_chatapp_start_redis() {
    command -v redis-server >/dev/null 2>&1 || {
        _chatapp_svc_log "redis-server is not installed"
        return 1
    }
    # The log/data dirs normally come with the Debian package, but a
    # half-provisioned machine may lack them and redis refuses to start then.
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    # No persistence: this instance only holds throwaway app state.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
        --save "" --appendonly no --dir /var/lib/redis \
        --logfile /var/log/redis/ci.log >/dev/null 2>&1 || return 1
    _chatapp_wait_for _chatapp_redis_up
}

_chatapp_start_postgres() {
    local version
    command -v pg_ctlcluster >/dev/null 2>&1 || {
        _chatapp_svc_log "pg_ctlcluster is not available (is PostgreSQL installed?)"
        return 1
    }
    # /etc/postgresql holds one directory per installed major version; if
    # there are several, the newest is the one a fresh install would use.
    version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null |
        sort -V | tail -n 1)
    [[ -n "$version" ]] || {
        _chatapp_svc_log "no PostgreSQL cluster found under /etc/postgresql"
        return 1
    }
    # --skip-systemctl-redirect: there is no systemd in containers/CI; start
    # the cluster directly instead of handing off to systemctl.
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
    # Even if "start" complained (e.g. already starting), readiness decides.
    _chatapp_wait_for _chatapp_postgres_up
}

# Check one service and start it if needed. Args: name, check fn, start fn.
_chatapp_ensure_one() {
    local name=$1 check=$2 start=$3
    "$check" && return 0
    _chatapp_svc_log "$name is not running; starting it"
    if "$start" && "$check"; then
        _chatapp_svc_log "$name started"
        return 0
    fi
    return 1
}

chatapp_ensure_services() {
    local required down=()
    case "${1:-}" in
        --required) required=1 ;;
        --best-effort) required=0 ;;
        *)
            _chatapp_svc_log "usage: chatapp_ensure_services --required|--best-effort"
            return 2
            ;;
    esac

    _chatapp_ensure_one Redis _chatapp_redis_up _chatapp_start_redis || down+=(Redis)
    _chatapp_ensure_one PostgreSQL _chatapp_postgres_up _chatapp_start_postgres || down+=(PostgreSQL)

    ((${#down[@]} == 0)) && return 0
    if ((required)); then
        _chatapp_svc_log "ERROR: could not start ${down[*]} on 127.0.0.1, and CI mode requires both services."
        _chatapp_svc_log "See /var/log/redis/ci.log and /var/log/postgresql/ for details."
        return 1
    fi
    # Locally it is fine to go on without them: the tests that need them skip
    # with a reason, and the rest of the suite still runs.
    _chatapp_svc_log "WARNING: ${down[*]} not available; continuing (tests that need it will skip)."
    return 0
}
