#!/usr/bin/env bash
# A real, versioned S3-compatible server for tests and the demo: single-node
# OpenStack Swift (Debian packages) with the s3api middleware and object
# versioning, on 127.0.0.1. Light in-process servers (s3rver) have no
# versioning, and the bucket's version history is what BotVault is for.
#
#   bash scripts/swift-s3.sh start   # install if missing, configure, start, wait for the S3 API
#   bash scripts/swift-s3.sh stop
#   bash scripts/swift-s3.sh env     # prints the BOTVAULT_SWIFT_S3_* exports (eval it)
#   bash scripts/swift-s3.sh status
#   bash scripts/swift-s3.sh with CMD ARGS...  # CMD with the exports set; starts the server
#                                              # first if it is down, and stops it after only then
#
# Environment: SWIFT_S3_PORT (default 8089), SWIFT_S3_DIR (data, config, logs;
# default /tmp/botvault-swift), SWIFT_S3_BACKEND_PORT (first of the three
# backend ports plus memcached's, default 16010). No systemd here: every
# process runs in the background with a pid file and a log under the data dir.
set -euo pipefail

PORT="${SWIFT_S3_PORT:-8089}"
DIR="${SWIFT_S3_DIR:-/tmp/botvault-swift}"
BASE="${SWIFT_S3_BACKEND_PORT:-16010}"
OBJECT_PORT=$BASE
CONTAINER_PORT=$((BASE + 1))
ACCOUNT_PORT=$((BASE + 2))
MEMCACHED_PORT=$((BASE + 3))
# tempauth user test:tester with key "testing": with s3api the S3 access key is
# "<account>:<user>" and the secret is the user's key. Test values, never real.
ACCESS_KEY="test:tester"
SECRET_KEY="testing"
ENDPOINT="http://127.0.0.1:${PORT}"
PACKAGES=(swift swift-proxy swift-object swift-container swift-account python3-swift memcached)
# Conditional and checksummed writes for s3api (scripts/swift/botvault_s3_conditional.py says why).
FILTERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/swift"

log() { echo "swift-s3: $*" >&2; }

backend_port() { # account|container|object -> its port
  case $1 in account) echo "$ACCOUNT_PORT" ;; container) echo "$CONTAINER_PORT" ;; object) echo "$OBJECT_PORT" ;; esac
}

answering() {
  # The proxy's /info lists the loaded middleware: s3api and object_versioning
  # there mean the S3 API with versioning is wired in. The backends are
  # checked separately since /info does not touch them.
  local info p
  info=$(curl -s -m 3 "${ENDPOINT}/info" 2>/dev/null) || return 1
  [[ $info == *'"s3api"'* && $info == *'"object_versioning"'* && $info == *'"botvault_s3_conditional"'* && $info == *'CompleteMultipartUpload'* ]] || return 1
  for p in "$OBJECT_PORT" "$CONTAINER_PORT" "$ACCOUNT_PORT"; do
    [ "$(curl -s -m 3 "http://127.0.0.1:$p/healthcheck" 2>/dev/null)" = OK ] || return 1
  done
}

install_if_missing() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v curl >/dev/null || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (Debian packages, about 30 s)"
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The servers need none of the recommended packages.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed in $((SECONDS - t0)) s"
}

plain_filters() { # name... -> a "[filter:NAME] use = egg:swift#NAME" section each, a blank line between
  local f sep=
  for f in "$@"; do
    printf '%s[filter:%s]\nuse = egg:swift#%s\n' "$sep" "$f" "$f"
    sep=$'\n'
  done
}

write_configs() {
  mkdir -p "$DIR/etc" "$DIR/devices/d1" "$DIR/run" "$DIR/log" "$DIR/cache"

  # Swift reads swift.conf from /etc/swift whatever swift_dir says (only the
  # rings follow swift_dir), so the hash path settings and the one replicated
  # policy have to live there. Keep any foreign file aside once.
  mkdir -p /etc/swift
  if ! grep -q 'botvault-swift-s3' /etc/swift/swift.conf 2>/dev/null; then
    [ -f /etc/swift/swift.conf ] && cp -n /etc/swift/swift.conf /etc/swift/swift.conf.before-botvault
    cat >/etc/swift/swift.conf <<'EOF'
# botvault-swift-s3: written by scripts/swift-s3.sh (single-node test server)
[swift-hash]
swift_hash_path_suffix = botvault-test
swift_hash_path_prefix = botvault-test

[storage-policy:0]
name = Policy-0
default = yes
EOF
  fi

  # Shared by the backends: no mount checks (plain directories, not loopback
  # disks), root (the data dir is root's), one worker each (2-core machine).
  local common
  common="swift_dir = $DIR/etc
devices = $DIR/devices
mount_check = false
bind_ip = 127.0.0.1
user = root
workers = 1
log_level = INFO
recon_cache_path = $DIR/cache
eventlet_debug = false"

  # The three backends differ only in their name and port.
  local name port
  for name in account container object; do
    port=$(backend_port "$name")
    cat >"$DIR/etc/$name-server.conf" <<EOF
[DEFAULT]
$common
bind_port = $port

[pipeline:main]
pipeline = healthcheck recon $name-server

[app:$name-server]
use = egg:swift#$name

$(plain_filters healthcheck recon)
EOF
  done

  # Pipeline order matters: s3api before the auth (tempauth), slo after it
  # (multipart uploads are SLOs), copy for CopyObject, and versioned_writes
  # with allow_object_versioning plus symlink (new-style versioning stores
  # versions behind symlinks) — s3api's PutBucketVersioning needs both.
  cat >"$DIR/etc/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
swift_dir = $DIR/etc
user = root
workers = 1
log_level = INFO
eventlet_debug = false

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api botvault_s3_conditional tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
dns_compliant_bucket_names = true
allow_multipart_uploads = true
# The AWS SDK sends a 5 MiB minimum part size; keep Swift's check in line with S3.
min_segment_size = 5242880

[filter:botvault_s3_conditional]
paste.filter_factory = botvault_s3_conditional:filter_factory

[filter:tempauth]
use = egg:swift#tempauth
reseller_prefix = AUTH
user_test_tester = $SECRET_KEY .admin

[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
allow_object_versioning = true

$(plain_filters symlink copy slo dlo bulk listing_formats)

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT

[filter:proxy-logging]
use = egg:swift#proxy_logging

$(plain_filters healthcheck gatekeeper catch_errors)
EOF
}

build_rings() {
  # Rings record the backends' ports: rebuild them when the ports changed.
  if [ "$(cat "$DIR/etc/ports" 2>/dev/null)" != "$BASE" ]; then
    rm -f "$DIR"/etc/*.ring.gz "$DIR"/etc/*.builder
    echo "$BASE" >"$DIR/etc/ports"
  fi
  # One device, one replica, one zone: a ring of 2^8 partitions is plenty here.
  # The three rings are built in parallel: each swift-ring-builder call is
  # mostly Python start-up time.
  local name port pids=()
  for name in account container object; do
    [ -f "$DIR/etc/$name.ring.gz" ] && continue
    port=$(backend_port "$name")
    (
      cd "$DIR/etc"
      rm -f "$name.builder"
      swift-ring-builder "$name.builder" create 8 1 1 >/dev/null
      swift-ring-builder "$name.builder" add "r1z1-127.0.0.1:$port/d1" 100 >/dev/null
      swift-ring-builder "$name.builder" rebalance >/dev/null
    ) &
    pids+=($!)
  done
  local pid
  for pid in "${pids[@]}"; do wait "$pid" || { log "building the rings failed"; exit 1; }; done
}

running() { # pidfile -> 0 if that process is alive and still ours (pids get reused)
  local pid
  [ -f "$1" ] && pid=$(cat "$1") && kill -0 "$pid" 2>/dev/null &&
    grep -qa -e swift -e memcached "/proc/$pid/cmdline" 2>/dev/null
}

start_bg() { # name, command...
  local name=$1
  shift
  running "$DIR/run/$name.pid" && return 0
  nohup "$@" >>"$DIR/log/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/run/$name.pid"
}

check_xattrs() {
  # The object server keeps metadata in user xattrs; fail now, not on the first PUT.
  python3 - "$DIR/devices/d1" <<'EOF' || { log "the filesystem under $DIR has no user xattrs; set SWIFT_S3_DIR elsewhere"; exit 1; }
import os, sys, tempfile
with tempfile.NamedTemporaryFile(dir=sys.argv[1]) as f:
    os.setxattr(f.name, 'user.swift.metadata', b'x' * 254)
EOF
}

cmd_start() {
  if answering; then
    log "already answering at $ENDPOINT"
    return 0
  fi
  local t0=$SECONDS
  # A proxy started before the conditional-write filter existed answers without it: start it anew.
  if running "$DIR/run/proxy.pid"; then cmd_stop; fi
  install_if_missing
  write_configs
  check_xattrs
  build_rings
  start_bg memcached memcached -u root -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64
  for s in account container object proxy; do
    # -v also logs to stderr (kept by Swift as a console handler): no syslog in a container.
    start_bg "$s" env PYTHONPATH="$FILTERS_DIR" "swift-$s-server" "$DIR/etc/$s-server.conf" -v
  done
  local deadline=$((SECONDS + 60))
  until answering; do
    if [ $SECONDS -ge $deadline ] || ! running "$DIR/run/proxy.pid"; then
      log "the S3 API at $ENDPOINT did not answer within 60 s"
      for s in proxy object container account; do
        echo "----- $DIR/log/$s.log (tail)" >&2
        tail -n 30 "$DIR/log/$s.log" >&2 2>/dev/null || true
      done
      exit 1
    fi
    sleep 0.5
  done
  log "S3 API up at $ENDPOINT in $((SECONDS - t0)) s (data, config and logs in $DIR)"
}

cmd_stop() {
  local s pid
  for s in proxy object container account memcached; do
    if running "$DIR/run/$s.pid"; then
      pid=$(cat "$DIR/run/$s.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/run/$s.pid"
  done
  log "stopped"
}

cmd_env() {
  echo "export BOTVAULT_SWIFT_S3_ENDPOINT=$ENDPOINT BOTVAULT_SWIFT_S3_ACCESS_KEY=$ACCESS_KEY BOTVAULT_SWIFT_S3_SECRET_KEY=$SECRET_KEY"
}

cmd_with() { # command... -> its exit code; leaves running only what was running before
  local started= rc=0
  if ! answering; then
    # Set before starting: an interrupted or failed start stops what it had started too.
    started=1
    trap 'cmd_stop; exit 130' INT
    trap 'cmd_stop; exit 143' TERM
    if ! (cmd_start); then
      cmd_stop
      return 1
    fi
  fi
  eval "$(cmd_env)"
  "$@" || rc=$?
  [ -n "$started" ] && cmd_stop
  return "$rc"
}

case "${1:-}" in
  start) cmd_start ;;
  with) shift; cmd_with "$@" ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  env) cmd_env ;;
  status) if answering; then echo "up at $ENDPOINT"; else echo "down"; exit 1; fi ;;
  *)
    echo "usage: $0 start|stop|restart|env|status|with CMD..." >&2
    exit 2
    ;;
esac
