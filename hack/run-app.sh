#!/usr/bin/env bash
# hack/run-app.sh — run the booking app alone on this machine, for development and demos:
# starts a local PostgreSQL 15 (installed from Debian if missing) in bin/dev-postgres, applies the
# migrations, seeds the demo business, creates the demo owner account (printing its one-time setup
# link while it has no password) and serves the app. Ctrl-C stops both.
#
#   make run-app            # or: hack/run-app.sh
#   PORT=8081 hack/run-app.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8080}"
PGPORT="${PGPORT:-55432}"
PGBIN=/usr/lib/postgresql/15/bin
DATA="$PWD/bin/dev-postgres"

log() { printf '[run-app] %s\n' "$*" >&2; }

if [[ ! -x $PGBIN/postgres ]]; then
  log "installing PostgreSQL 15 from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi
go build -o bin/slotbook ./app

# PostgreSQL refuses to run as root: run it as the postgres system user then.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [[ ! -f $DATA/PG_VERSION ]]; then
  log "creating a database cluster in $DATA"
  mkdir -p "$DATA"
  [[ $(id -u) == 0 ]] && chown postgres:postgres "$DATA"
  as_pg "$PGBIN/initdb" -D "$DATA" -U slotbook --auth=trust >/dev/null
fi
mkdir -p "$DATA/run" && { [[ $(id -u) != 0 ]] || chown postgres:postgres "$DATA/run"; }
as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
  -o "-p $PGPORT -k $DATA/run -c listen_addresses=127.0.0.1" start >/dev/null
trap 'as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null' EXIT
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U slotbook booking 2>/dev/null || true

export SLOTBOOK_DATABASE_URL="postgresql://slotbook@127.0.0.1:$PGPORT/booking?sslmode=disable"
# Local development only: the database has no TLS here (production requires verify-full).
export SLOTBOOK_DEV_INSECURE_DATABASE=true
export SLOTBOOK_BASE_URL="http://localhost:$PORT"
export SLOTBOOK_SESSION_KEY="${SLOTBOOK_SESSION_KEY:-$(head -c 32 /dev/urandom | base64)}"
export SLOTBOOK_LISTEN_ADDR="127.0.0.1:$PORT"
export SLOTBOOK_METRICS_ADDR="127.0.0.1:$((PORT + 1010))"
OWNER_EMAIL="${OWNER_EMAIL:-owner@demo.invalid}"

bin/slotbook migrate
bin/slotbook seed-demo
# The admin pages need a login. The first owner gets a one-time link to set a password (valid
# 24 h); once the password is set, this prints that nothing was done and the login page is the
# way in (forgot it? delete bin/dev-postgres to start over).
owner_out="$(bin/slotbook admin create-owner --email "$OWNER_EMAIL")"
setup_link="$(grep -o 'http[^ ]*/account/setup/[^ ]*' <<<"$owner_out" || true)"
log "booking page: http://localhost:$PORT/"
if [[ -n $setup_link ]]; then
  log "admin: set the password of $OWNER_EMAIL here, then sign in: $setup_link"
  echo "SETUP_URL=$setup_link"
else
  log "admin: http://localhost:$PORT/admin/ (sign in as $OWNER_EMAIL; the password was set earlier)"
fi
echo "URL=http://localhost:$PORT/"
bin/slotbook serve
