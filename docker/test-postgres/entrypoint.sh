#!/usr/bin/env bash
# Entrypoint of the registry-free test images (.ci/build-postgres-image). It keeps the official
# postgres image's contract (docker-library/postgres, docker-entrypoint.sh), which the Docker
# backend and the tests rely on:
#   - POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), POSTGRES_USER (default postgres),
#     POSTGRES_DB (default the user), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default the
#     server's password_encryption, for connections from other hosts; the container's own
#     loopback and socket are trusted, as initdb makes them);
#   - an empty $PGDATA is made by initdb on first start, then a server listening on no TCP port
#     creates POSTGRES_DB and runs /docker-entrypoint-initdb.d/*.sql and *.sh; a $PGDATA holding
#     PG_VERSION is started as it is;
#   - with the layout of 18 and later (PGDATA=/var/lib/postgresql/<major>/docker), it refuses to
#     initialise when older data sits elsewhere under /var/lib/postgresql or a volume is mounted
#     at /var/lib/postgresql/data (a 17-and-older mount on an 18 image);
#   - runs as root only to own the data directory, then as postgres; `exec "$@"` (CMD postgres).
# Not kept: POSTGRES_INITDB_WALDIR, nss_wrapper for `--user` ids without an account, compressed
# init files.
set -Eeo pipefail

file_env() {
    local var=$1 file_var=${1}_FILE default=${2:-}
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        echo "error: both $var and $file_var are set (but are exclusive)" >&2
        exit 1
    fi
    local value=$default
    if [ -n "${!var:-}" ]; then
        value=${!var}
    elif [ -n "${!file_var:-}" ]; then
        value=$(<"${!file_var}")
    fi
    export "$var=$value"
    unset "$file_var"
}

wants_help() {
    local arg
    for arg; do
        case $arg in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
    done
    return 1
}

# Data of another layout that an 18-layout PGDATA would hide (the official image's check).
old_databases() {
    [ "$PGDATA" = "/var/lib/postgresql/$PG_MAJOR/docker" ] || return 0
    local dir found=
    for dir in /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/*/docker; do
        if [ -s "$dir/PG_VERSION" ]; then
            echo "$dir"
            found=1
        fi
    done
    if [ -z "$found" ] && [ "$PG_MAJOR" -ge 18 ] && mountpoint -q /var/lib/postgresql/data; then
        echo "/var/lib/postgresql/data (unused mount/volume)"
    fi
}

sql() {
    PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password \
        --no-psqlrc "$@"
}

initialise() {
    local old
    old=$(old_databases)
    if [ -n "$old" ]; then
        cat >&2 <<EOF
Error: in 18+, these images store data in a layout compatible with pg_ctlcluster
       ($PGDATA), but there is PostgreSQL data in:
$(sed 's/^/         /' <<<"$old")
       Mount one volume at /var/lib/postgresql, and upgrade older data with pg_upgrade.
EOF
        exit 1
    fi
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        echo "Error: Database is uninitialized and superuser password is not specified." >&2
        echo "       Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)." >&2
        exit 1
    fi
    ls /docker-entrypoint-initdb.d/ >/dev/null

    # --pwfile refuses an empty file, hence the newline.
    eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"

    local server_args=("$@")
    [ "${server_args[0]:-}" != postgres ] || server_args=("${server_args[@]:1}")
    : "${POSTGRES_HOST_AUTH_METHOD:=$(postgres -C password_encryption "${server_args[@]}")}"
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

    export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
    NOTIFY_SOCKET= PGUSER=${PGUSER:-$POSTGRES_USER} pg_ctl -D "$PGDATA" \
        -o "$(printf '%q ' "${server_args[@]}" -c listen_addresses= -p "${PGPORT:-5432}")" -w start

    local exists
    exists=$(sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
        <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")
    if [ -z "$exists" ]; then
        sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db"'
    fi
    local file
    for file in /docker-entrypoint-initdb.d/*; do
        case $file in
            *.sh) echo "$0: running $file"; if [ -x "$file" ]; then "$file"; else . "$file"; fi ;;
            *.sql) echo "$0: running $file"; sql --dbname "$POSTGRES_DB" -f "$file" ;;
            */\*) ;;
            *) echo "$0: ignoring $file" ;;
        esac
    done

    PGUSER=${PGUSER:-postgres} pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    printf '\nPostgreSQL init process complete; ready for start up.\n\n'
}

if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
fi
if [ "$1" = postgres ] && ! wants_help "$@"; then
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=}"

    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    mkdir -p /var/run/postgresql || :
    chmod 03775 /var/run/postgresql || :
    if [ "$(id -u)" = 0 ]; then
        find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
        find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
        exec setpriv --reuid=postgres --regid=postgres --init-groups \
            env HOME=/var/lib/postgresql "$BASH_SOURCE" "$@"
    fi

    if [ -s "$PGDATA/PG_VERSION" ]; then
        printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
    else
        initialise "$@"
    fi
fi
exec "$@"
