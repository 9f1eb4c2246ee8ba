# shellcheck shell=bash
# Prepare the environment for running chatapp or its tests.
#
#   source scripts/bootstrap.sh          # runtime deps (scripts/run)
#   source scripts/bootstrap.sh --dev    # + test deps and Chromium (scripts/test)
#
# It must be *sourced*: besides installing things it changes the caller's
# shell -- cwd becomes the repo root, .venv is activated, bun and Node.js 22
# are put on PATH, REFLEX_TELEMETRY_ENABLED / NPM_CONFIG_REGISTRY /
# CHATAPP_CHROMIUM are exported.
#
# Works on a fresh clone (creates .venv and .tools/ as needed) and is cheap
# on re-runs: pip only runs when the requirements files changed since the
# last successful install (hash stamp inside .venv), npm only when no
# suitable bun or Node.js is found.
#
# The logic lives in a function that checks every step explicitly instead of
# relying on `set -e`: that keeps it correct under the callers' `set -euo
# pipefail` and avoids killing an interactive shell that sources it. Note that
# a bare `source` inherits the caller's "$@", so scripts sourcing this file
# must clear their arguments first (see scripts/run).

# Bun: Reflex 0.10.1 refuses anything older than its pinned 1.4.4, and its own
# installer downloads from GitHub, which is unreachable here -- the npm
# registry's `bun` package is the offline-friendly source.
_CHATAPP_BUN_MIN=1.4.4
_CHATAPP_BUN_NPM_VERSION=1.4.5
# Node.js: Reflex warns at every start below 22.22.0; Debian 12 has 20. Bun does the
# installing and serving, but Reflex checks Node's version whenever one is on PATH, so the
# project brings a Node that passes (the npm package `node` ships the official binaries).
_CHATAPP_NODE_MIN=22.22.0
_CHATAPP_NODE_NPM_VERSION=22.23.3

_chatapp_log() { printf '[bootstrap] %s\n' "$*" >&2; }
_chatapp_die() {
    _chatapp_log "ERROR: $*"
    return 1
}

# Put a directory first on PATH, dropping earlier copies so re-sourcing
# doesn't grow PATH and an already-listed dir still moves to the front.
_chatapp_path_prepend() {
    local rest=":$PATH:"
    rest=${rest//":$1:"/:}
    rest=${rest#:}
    rest=${rest%:}
    export PATH="$1${rest:+:$rest}"
}

# Hash of the given requirements files; the stamp compares against it.
_chatapp_req_hash() {
    local out
    out=$(sha256sum "$@" | sha256sum) || return 1
    printf '%s\n' "${out%% *}"
}

# True if version $2 is at least $1 (sort -V puts the lower version first).
_chatapp_version_ge() {
    [[ -n "$2" ]] || return 1
    [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" == "$1" ]]
}

# True if `bun` / `node` on PATH runs and is at least the version Reflex requires.
_chatapp_bun_ok() { _chatapp_version_ge "$_CHATAPP_BUN_MIN" "$(bun --version 2>/dev/null)"; }
_chatapp_node_ok() {
    local v
    v=$(node --version 2>/dev/null) || return 1
    _chatapp_version_ge "$_CHATAPP_NODE_MIN" "${v#v}"
}

# Put .tools/NAME first on PATH, installing NAME@VERSION from the npm registry there
# first unless CHECK already passes.
#
# Not `npm install --prefix .tools/NAME`: --prefix also moves npm's *global* config to
# .tools/NAME/etc/npmrc, silently dropping machine settings in /usr/etc/npmrc (on our
# boxes the CA bundle for the TLS proxy -- without it every registry request retries for
# ~70 s and the install takes 15 min). Instead .tools/NAME is a tiny npm project of its
# own, installed from inside.
_chatapp_npm_tool() {
    local name=$1 version=$2 check=$3 bin="$root/.tools/$1/node_modules/.bin"
    if [[ -x "$bin/$name" ]]; then
        _chatapp_path_prepend "$bin"
    fi
    "$check" && return 0
    command -v npm >/dev/null 2>&1 || {
        _chatapp_die "no suitable $name on PATH and no npm to install it (install Node.js 20+ with npm)"
        return 1
    }
    _chatapp_log "installing $name@$version from npm into .tools/$name (one-off)"
    mkdir -p ".tools/$name" || return 1
    if [[ ! -f ".tools/$name/package.json" ]]; then
        printf '{ "private": true }\n' >".tools/$name/package.json" || return 1
    fi
    # The `node` package unpacks its binary with a nested npm install, which once failed
    # with ENOTEMPTY halfway through; a second try from a clean folder went through.
    local try
    for try in 1 2; do
        (cd ".tools/$name" && npm install --no-audit --no-fund --loglevel=error "$name@$version" >&2) && break
        rm -rf ".tools/$name/node_modules"
        if ((try == 2)); then
            _chatapp_die "npm install $name@$version failed"
            return 1
        fi
        _chatapp_log "npm install $name@$version failed; trying once more"
    done
    _chatapp_path_prepend "$bin"
    "$check" || {
        _chatapp_die "$name from npm does not run (check .tools/$name/node_modules/.bin/$name)"
        return 1
    }
}

# Chromium for Playwright comes from Debian, since Playwright's own browser
# download is blocked here. Only attempted as root with apt-get; anything
# else gets a message saying what to do instead of a half-working sudo dance.
# Install Debian packages the tests need (Chromium for Playwright, nginx for the
# reverse-proxy tests): only as root with apt-get, else say what to install.
_chatapp_apt_install() {
    if ((EUID != 0)) || ! command -v apt-get >/dev/null 2>&1; then
        _chatapp_die "missing $*. Install it (Debian: 'sudo apt-get install $*')."
        return 1
    fi
    _chatapp_log "installing Debian's $* (one-off)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; then
        _chatapp_die "apt-get update failed"
        return 1
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2; then
        _chatapp_die "apt-get install $* failed"
        return 1
    fi
}

_chatapp_bootstrap() {
    local dev=0 arg root py reqs stamp want chromium
    for arg in "$@"; do
        case "$arg" in
            --dev) dev=1 ;;
            *)
                _chatapp_die "unknown option '$arg' (usage: source scripts/bootstrap.sh [--dev])"
                return 1
                ;;
        esac
    done

    # Repo root = parent of this file's directory, wherever we're called from.
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1
    cd "$root" || return 1

    # --- Python virtualenv -------------------------------------------------
    # Recreate when missing or broken (e.g. the interpreter it points at was
    # removed); `--clear` also wipes the pip stamps, forcing a reinstall.
    if ! .venv/bin/python -c '' >/dev/null 2>&1; then
        py=${CHATAPP_PYTHON:-python3}
        command -v "$py" >/dev/null 2>&1 || {
            _chatapp_die "$py not found; install Python 3.11+ or set CHATAPP_PYTHON"
            return 1
        }
        "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
            _chatapp_die "$py is $("$py" -V 2>&1); Python 3.11+ is required (set CHATAPP_PYTHON)"
            return 1
        }
        _chatapp_log "creating .venv with $("$py" -V 2>&1)"
        "$py" -m venv --clear .venv || {
            _chatapp_die "could not create .venv"
            return 1
        }
    fi

    # --- Python dependencies -----------------------------------------------
    # requirements-dev.txt includes requirements.txt, so both feed its hash.
    if ((dev)); then
        reqs=(requirements.txt requirements-dev.txt)
        stamp=.venv/.chatapp-deps-dev
    else
        reqs=(requirements.txt)
        stamp=.venv/.chatapp-deps-runtime
    fi
    want=$(_chatapp_req_hash "${reqs[@]}") || {
        _chatapp_die "cannot read ${reqs[*]}"
        return 1
    }
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        _chatapp_log "pip install -r ${reqs[-1]} (first run or requirements changed)"
        .venv/bin/python -m pip install -q --disable-pip-version-check -r "${reqs[-1]}" || {
            _chatapp_die "pip install -r ${reqs[-1]} failed"
            return 1
        }
        # Written only after success, so an interrupted install is retried.
        printf '%s\n' "$want" >"$stamp"
        # A dev install satisfies the runtime set too; record that so a later
        # plain `scripts/run` doesn't pay for a redundant pip run.
        if ((dev)); then
            _chatapp_req_hash requirements.txt >.venv/.chatapp-deps-runtime || true
        fi
    fi

    # Activate the venv the same way bin/activate does (minus the prompt).
    export VIRTUAL_ENV="$root/.venv"
    _chatapp_path_prepend "$VIRTUAL_ENV/bin"
    unset PYTHONHOME

    # Reflex phones home by default; never from dev boxes or CI.
    export REFLEX_TELEMETRY_ENABLED=false

    # --- bun and Node.js, from the npm registry into .tools/ -------------------
    # A previously installed local copy wins over whatever else is on PATH.
    _chatapp_npm_tool bun "$_CHATAPP_BUN_NPM_VERSION" _chatapp_bun_ok || return 1
    _chatapp_npm_tool node "$_CHATAPP_NODE_NPM_VERSION" _chatapp_node_ok || return 1
    # Reflex picks the faster of two npm registries by timing both three times on its
    # first start, printing "Failed to connect to ..." for one that is unreachable. The
    # registry npm is configured with is the one that works: hand it over.
    if [[ -z "${NPM_CONFIG_REGISTRY:-}" ]]; then
        NPM_CONFIG_REGISTRY=$(npm config get registry 2>/dev/null) && export NPM_CONFIG_REGISTRY
    fi
    # Make Reflex use the bun on PATH. Otherwise a stale bun under
    # ~/.local/share/reflex/bun takes precedence, and if it is too old Reflex
    # tries to download a new one from GitHub, which fails offline.
    export REFLEX_USE_SYSTEM_BUN=true

    # --- Chromium (tests only) ----------------------------------------------
    if ((dev)); then
        # find_chromium.py explains on stderr why it found nothing.
        if ! chromium=$(python scripts/find_chromium.py); then
            # An explicit but wrong CHATAPP_CHROMIUM is a user error; don't
            # paper over it by installing a different browser.
            if [[ -n "${CHATAPP_CHROMIUM:-}" ]]; then
                _chatapp_die "fix or unset CHATAPP_CHROMIUM"
                return 1
            fi
            _chatapp_apt_install chromium || return 1
            chromium=$(python scripts/find_chromium.py) || {
                _chatapp_die "chromium installed but still not found"
                return 1
            }
        fi
        export CHATAPP_CHROMIUM="$chromium"
        # nginx for tests/deploy (the repo's reverse-proxy configuration, on loopback).
        if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
            _chatapp_apt_install nginx || return 1
        fi
    fi

    # Service helpers (chatapp_ensure_services) for scripts/test, scripts/run
    # and interactive use; sourcing it only defines functions.
    # shellcheck source=scripts/services.sh
    source "$root/scripts/services.sh" || return 1
}

_chatapp_bootstrap "$@"
