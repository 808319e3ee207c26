# Shared settings for the scripts; sourced, not run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PGRX_VERSION=0.18.0
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
