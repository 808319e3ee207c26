# Shared settings for the scripts; sourced, not run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The PostgreSQL major to build and test for: 15 (Debian's, the default) or
# 16 (CH_PG_MAJOR=16: the relocatable build of the pgserver wheel, fetched by
# scripts/bootstrap into the build tree, see pg_home below).
PG_MAJOR=${CH_PG_MAJOR:-15}
PGSERVER_VERSION=0.1.4
PGSERVER_WHEEL=pgserver-$PGSERVER_VERSION-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
PGSERVER_SHA256=d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813
PGRX_VERSION=0.18.0
# The version this tree builds (Cargo.toml's, which pgrx writes into the control file).
EXT_VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
DEB_PACKAGE=postgresql-$PG_MAJOR-customer-health
# The build scripts/package and scripts/install make: release, or debug
# (CH_BUILD=debug: debug assertions on, the allocator's checks among them).
BUILD_PROFILE=${CH_BUILD:-release}
case "$BUILD_PROFILE" in
release | debug) ;;
*)
    echo "CH_BUILD must be release or debug, not $BUILD_PROFILE" >&2
    exit 2
    ;;
esac
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
    local name=$1
    [ "$PG_MAJOR" = 15 ] || name=$name-pg$PG_MAJOR # a data directory belongs to one major
    local dir="$ROOT/build/cluster-$name"
    mkdir -p "$ROOT/build"
    if as_postgres test -x "$ROOT/build" 2>/dev/null; then
        echo "$dir"
    else
        echo "/tmp/customer_health-$(printf '%s' "$ROOT" | md5sum | cut -c1-8)/cluster-$name"
    fi
}

# Where PostgreSQL 16 lives: in the build tree when the postgres user can
# reach it (it runs the server), else beside the clusters (see cluster_dir).
pg_home() {
    dirname "$(cluster_dir pg16-home)"
}

case "$PG_MAJOR" in
15) PG_BIN=/usr/lib/postgresql/15/bin ;;
16) PG_BIN=$(pg_home)/pg16/pgserver/pginstall/bin ;;
*)
    echo "customer_health is built and tested for PostgreSQL 15 and 16, not $PG_MAJOR" >&2
    exit 2
    ;;
esac
PG_CONFIG=$PG_BIN/pg_config
# cargo pgrx builds for exactly one major (its Cargo feature); a major other
# than the default keeps its own pgrx record and build tree, so switching
# between majors rebuilds nothing and touches nothing outside build/ and target/.
PGRX_FEATURES=(--no-default-features --features "pg$PG_MAJOR")
if [ "$PG_MAJOR" != 15 ]; then
    export PGRX_HOME=$ROOT/build/pgrx-home-$PG_MAJOR CARGO_TARGET_DIR=$ROOT/target/pg$PG_MAJOR
fi

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
