# Shared settings for the scripts; sourced, not run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PGRX_VERSION=0.18.0
# The version this tree builds (Cargo.toml's, which pgrx writes into the control file).
EXT_VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
DEB_PACKAGE=postgresql-$PG_MAJOR-customer-health
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Run as root, or through sudo when we are not root.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Run as the postgres OS user (PostgreSQL refuses to run as root).
as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else as_root sudo -u postgres "$@"; fi
}

# Where a throwaway cluster named $1 lives: inside the build tree when the
# postgres user can reach it, else under /tmp (e.g. a clone under /root).
cluster_dir() {
    local dir="$ROOT/build/cluster-$1"
    mkdir -p "$ROOT/build"
    if as_postgres test -x "$ROOT/build" 2>/dev/null; then
        echo "$dir"
    else
        echo "/tmp/customer_health-$(printf '%s' "$ROOT" | md5sum | cut -c1-8)/cluster-$1"
    fi
}

# Installs the Debian packages of the arguments that are missing, only those.
install_debian_packages() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# python_venv DIR REQUIREMENTS: a test-only Python virtual environment in DIR
# with REQUIREMENTS installed; made again only when REQUIREMENTS changed.
python_venv() {
    local venv=$1 req=$2
    cmp -s "$req" "$venv/.requirements" 2>/dev/null && return 0
    say "setting up the test-only Python environment ($venv)"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        install_debian_packages python3-venv # Debian's python3 keeps venv apart
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.requirements"
}

# Server options of a cluster that runs pg_cron's scheduler in database $1
# and takes TCP connections on 127.0.0.1 (JDBC, BI tools, pg_cron itself).
pg_cron_opts() {
    echo "-c shared_preload_libraries=pg_cron -c cron.database_name=$1 -c listen_addresses=127.0.0.1"
}
