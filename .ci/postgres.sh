# Sourced by .ci/run (and usable on its own: `source .ci/postgres.sh && start_postgres`):
# a throwaway PostgreSQL server for the question log's tests, which run against SQLite and
# PostgreSQL both (tests/pglog.py). Debian's `postgresql` package is installed when missing;
# a cluster is made in a temporary folder, listens on 127.0.0.1 only, on a free port, with
# trust authentication, and is stopped and removed when the shell that started it exits.
# Exports KBBOT_TEST_POSTGRES (the server's URL) and KBBOT_REQUIRE_POSTGRES=1, so that the
# PostgreSQL tests fail rather than skip should the server be missing.

_pg_bindir() {
    # Debian keeps each major version's programs under /usr/lib/postgresql/N/bin: the newest.
    # Prints nothing (and still succeeds, under set -e and pipefail) when there is none.
    [ -d /usr/lib/postgresql ] || return 0
    find /usr/lib/postgresql -maxdepth 2 -type d -name bin | sort -V | tail -n 1
}

_pg_as_owner() {
    # initdb and the server refuse to run as root: as root, run them as the package's user.
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_postgres() {
    if [ -n "${_pg_dir:-}" ] && [ -d "$_pg_dir" ]; then
        _pg_as_owner "$_pg_bin/pg_ctl" -D "$_pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$_pg_dir"
    fi
    _pg_dir=""
}

start_postgres() {
    _pg_bin=$(_pg_bindir)
    if [ -z "$_pg_bin" ]; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "ci: PostgreSQL is not installed and there is no root to install it" >&2
            return 1
        fi
        echo "ci: installing postgresql (apt) for the question log's PostgreSQL tests"
        apt-get update -qq
        # The package may make and start a cluster of its own (port 5432): it is left alone,
        # the tests use the one made below.
        env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends postgresql >/dev/null
        _pg_bin=$(_pg_bindir)
    fi
    _pg_dir=$(mktemp -d /tmp/kbbot-ci-postgres.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$_pg_dir"
    fi
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    trap stop_postgres EXIT
    _pg_as_owner "$_pg_bin/initdb" -D "$_pg_dir/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$_pg_dir/initdb.log" 2>&1 || {
        cat "$_pg_dir/initdb.log" >&2
        return 1
    }
    # Durability is not what these tests are about: fsync off keeps a test's CREATE SCHEMA cheap.
    _pg_as_owner "$_pg_bin/pg_ctl" -D "$_pg_dir/data" -l "$_pg_dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $_pg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || {
        cat "$_pg_dir/server.log" >&2
        return 1
    }
    export KBBOT_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$port/postgres"
    export KBBOT_REQUIRE_POSTGRES=1
    echo "ci: PostgreSQL $("$_pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}
