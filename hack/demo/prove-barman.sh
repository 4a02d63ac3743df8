#!/usr/bin/env bash
# hack/demo/prove-barman.sh - does Debian's barman-cli-cloud 3.4.0 (in our
# PostgreSQL/sidecar rootfs) do what CNPG's Barman Cloud plugin asks of it,
# against our S3 store (versitygw, posix backend)? Runs on loopback only, without
# a cluster: the operand rootfs is unpacked into a temp dir and used as a chroot
# (PostgreSQL 15 as UID 26), versitygw serves a temp dir. Each barman-cloud
# command is called with the options barman-cloud v0.5.1 builds for the plugin
# (pkg/archiver, pkg/backup, pkg/command, pkg/restorer; aws-s3 with an
# endpoint URL, no compression, credentials from the environment):
#   barman-cloud-check-wal-archive, barman-cloud-wal-archive (archive_command),
#   barman-cloud-backup --user postgres --name, barman-cloud-backup-list/-show
#   --format json (parsed like barman-cloud's catalog), barman-cloud-restore,
#   barman-cloud-wal-restore, barman-cloud-backup-delete --retention-policy;
# then the restored data directory is started and queried.
#
# Usage: hack/demo/prove-barman.sh   (after build.sh postgresql versitygw)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_go
pg_dir="$DEMO_CACHE/postgresql-$PG_MAJOR-$DEBIAN_SUITE-r$POSTGRES_IMAGE_REV"
gw="$DEMO_CACHE/versitygw-$VERSITYGW_VERSION/versitygw"
[[ -f $pg_dir/rootfs.tar && -x $gw ]] || die "build first: hack/demo/build.sh postgresql versitygw"

t="$(mktemp -d "${TMPDIR:-/tmp}/slotbook-prove-barman.XXXXXX")"
r="$t/root"
gw_pid=""
cleanup() {
  [[ -z $gw_pid ]] || kill "$gw_pid" 2>/dev/null || true
  chroot "$r" su postgres -s /bin/sh -c "pg_ctl -D /tmp/pgdata -m immediate stop; pg_ctl -D /tmp/restored -m immediate stop" >/dev/null 2>&1 || true
  for m in "$r/dev" "$r/proc"; do mountpoint -q "$m" && umount -R -l "$m"; done
  [[ -n ${KEEP:-} ]] && { log "kept $t"; return; }
  rm -rf "$t"
}
trap cleanup EXIT
mkdir -p "$r" "$t/s3"
tar -C "$r" -xf "$pg_dir/rootfs.tar"
mount -t proc proc "$r/proc"
# --rbind: /dev/shm too (Python's multiprocessing semaphores of barman-cloud-backup).
mount --rbind /dev "$r/dev"
chmod 1777 "$r/tmp"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
access=demo-access secret=demo-secret-key
"$gw" --access "$access" --secret "$secret" --port "127.0.0.1:$port" posix "$t/s3" >"$t/versitygw.log" 2>&1 &
gw_pid=$!
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
log "versitygw $VERSITYGW_VERSION on 127.0.0.1:$port (posix $t/s3)"

url="http://127.0.0.1:$port" dest="s3://backups/demo" server=demo
env_s3="AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret AWS_DEFAULT_REGION=us-east-1"
pgbin="/usr/lib/postgresql/$PG_MAJOR/bin"
# as26 CMD: run CMD in the rootfs as postgres (26:26) with the sidecar's environment.
as26() {
  chroot --userspec=26:26 "$r" env -i PATH="$pgbin:/usr/bin:/bin" LANG=en_US.utf8 HOME=/var/lib/postgresql \
    PGHOST=/tmp PGUSER=postgres $env_s3 sh -c "$1"
}
common="--endpoint-url $url --cloud-provider aws-s3"
pass=0 fail=0
check() { # NAME CMD: run, record
  local name="$1" out rc=0
  out="$(as26 "$2" 2>&1)" || rc=$?
  if [[ $rc -eq 0 ]]; then pass=$((pass + 1)); log "ok   $name"; else fail=$((fail + 1)); log "FAIL $name (exit $rc): $(tail -3 <<<"$out")"; fi
  printf '%s\n' "$out" >"$t/$name.out"
  return 0
}

as26 "python3 -c \"import boto3; boto3.client('s3', endpoint_url='$url').create_bucket(Bucket='backups')\"" ||
  die "cannot create the bucket through versitygw"
check check-wal-archive-empty "barman-cloud-check-wal-archive $common $dest $server"

as26 "initdb -D /tmp/pgdata -U postgres --encoding=UTF8 --lc-collate=C --lc-ctype=C >/tmp/initdb.log"
cat >>"$r/tmp/pgdata/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '/tmp'
wal_level = replica
archive_mode = on
archive_command = 'barman-cloud-wal-archive $common $dest $server %p'
CONF
as26 "pg_ctl -D /tmp/pgdata -l /tmp/pg.log -w start >/dev/null"
as26 "psql -qAt -c 'create table booking(id int primary key, who text)' -c \"insert into booking select g, 'guest ' || g from generate_series(1, 1000) g\" -c 'select pg_switch_wal()' >/dev/null"
for _ in $(seq 60); do
  n="$(as26 "psql -qAt -c 'select archived_count from pg_stat_archiver'")"
  [[ $n -ge 1 ]] && break; sleep 0.5
done
check wal-archive "psql -qAt -c 'select archived_count, failed_count from pg_stat_archiver' | awk -F'|' '{print} \$1 < 1 || \$2 > 0 {exit 1}'"
check backup "barman-cloud-backup --user postgres --name slotbook-demo-1 $common $dest $server"
as26 "psql -qAt -c \"insert into booking values (1001, 'after the backup')\" -c 'select pg_switch_wal()' >/dev/null"
check backup-list "barman-cloud-backup-list --format json $common $dest $server"
check backup-show "barman-cloud-backup-show --format json $common $dest $server slotbook-demo-1"
# What barman-cloud's catalog reads: backups_list[].backup_id/backup_name/begin_wal/end_wal/
# begin_time(_iso)/end_time(_iso) and, for show, cloud.*.
if python3 - "$t/backup-list.out" "$t/backup-show.out" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["backups_list"]
s = json.load(open(sys.argv[2]))["cloud"]
assert l and l[0].get("backup_name") == "slotbook-demo-1", l
for k in ("backup_id", "begin_wal", "end_wal", "begin_time", "end_time", "systemid", "timeline"):
    assert k in s, (k, sorted(s))
print("backup_id", s["backup_id"], "| ISO times:", "begin_time_iso" in s, "| begin_time:", s["begin_time"])
PY
then pass=$((pass + 1)); log "ok   catalog-fields"; else fail=$((fail + 1)); log "FAIL catalog-fields"; fi
id="$(python3 -c "import json,sys; print(json.load(open('$t/backup-show.out'))['cloud']['backup_id'])" 2>/dev/null || true)"
check check-wal-archive-used "! barman-cloud-check-wal-archive $common $dest $server"
check restore "barman-cloud-restore $common $dest $server ${id:-missing} /tmp/restored"
wal="$(as26 "psql -qAt -c 'select pg_walfile_name(pg_current_wal_lsn())'")"
as26 "psql -qAt -c 'select pg_switch_wal()' >/dev/null"; sleep 3
check wal-restore "barman-cloud-wal-restore $common $dest $server $wal /tmp/$wal && test -s /tmp/$wal"
check wal-restore-missing "barman-cloud-wal-restore $common $dest $server 0000000100000000000000FF /tmp/x; test \$? -eq 1"
# Start the restored copy with WAL from the store (what the plugin's restore job does).
cat >>"$r/tmp/restored/postgresql.auto.conf" <<CONF
restore_command = 'barman-cloud-wal-restore $common $dest $server %f %p'
archive_mode = off
port = 5433
CONF
touch "$r/tmp/restored/recovery.signal"
as26 "chmod 0700 /tmp/restored && pg_ctl -D /tmp/restored -l /tmp/restored.log -w -t 60 start >/dev/null" || true
for _ in $(seq 60); do as26 "psql -p 5433 -qAt -c 'select not pg_is_in_recovery()'" 2>/dev/null | grep -q t && break; sleep 1; done
check restored-data "psql -p 5433 -qAt -c 'select count(*) from booking' | grep -qx 1001"
check backup-delete "barman-cloud-backup-delete $common --retention-policy 'RECOVERY WINDOW OF 30 DAYS' $dest $server"
log "barman-cli-cloud $(as26 'barman-cloud-backup --version' 2>&1 | awk '{print $2}') against versitygw $VERSITYGW_VERSION: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
