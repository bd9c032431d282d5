#!/usr/bin/env bash
# Installs Debian's PostgreSQL server when its binaries are missing. Idempotent and quiet.
# The tests start their own server on loopback in a temporary directory (as the
# package's `postgres` user when run as root); the packaged cluster is not used.
set -euo pipefail

have_server() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]] && return 0
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

if have_server; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-postgres: PostgreSQL server binaries missing and not root; install 'postgresql'" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends postgresql >/dev/null

if ! have_server; then
    echo "install-postgres: postgresql installed but initdb/pg_ctl not found" >&2
    exit 1
fi
