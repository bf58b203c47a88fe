#!/usr/bin/env bash
# Starts a PostgreSQL server from Debian's package on a temporary directory for a test pass, as `nobody`
# when run as root (initdb and postgres refuse root), and prints its URL; `stop DIR` stops it and removes
# DIR. Usage: url=$(tests/postgres.sh start DIR); ...; tests/postgres.sh stop DIR
set -euo pipefail
action=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_owner=()
[ "$(id -u)" = 0 ] && as_owner=(runuser -u nobody --)
case "$action" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown nobody "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (cd "$dir" && "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U stowage -A trust -E UTF8 --locale=C --no-sync >/dev/null)
    (cd "$dir" && "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=500" >/dev/null)
    echo "postgres://stowage@127.0.0.1:$port/postgres"
    ;;
stop)
    (cd "$dir" && "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
    rm -rf "$dir"
    ;;
esac
