#!/usr/bin/env bash
# The AWS CLI v2 the sandbox README test (test/e2e/sandbox-readme.test.ts)
# runs the README's `aws ...` commands with. Prints the path of one:
# BOTVAULT_AWS_CLI if set, else /usr/bin/aws or the `aws` on PATH when it is
# v2 (a pip-installed or pyenv `aws` may be v1, whose output differs), else
# Debian's `awscli` package (2.9.19 on bookworm), installed with apt when
# this is a Debian/Ubuntu machine and we are root.
#
#   BOTVAULT_AWS_CLI="$(bash scripts/aws-cli.sh)"
set -euo pipefail

log() { echo "aws-cli: $*" >&2; }
is_v2() { [ -x "$1" ] && "$1" --version 2>/dev/null | grep -q '^aws-cli/2'; }

if [ -n "${BOTVAULT_AWS_CLI:-}" ]; then
  is_v2 "$BOTVAULT_AWS_CLI" || { log "BOTVAULT_AWS_CLI=$BOTVAULT_AWS_CLI is not AWS CLI v2"; exit 1; }
  echo "$BOTVAULT_AWS_CLI"
  exit 0
fi
for candidate in /usr/bin/aws "$(command -v aws || true)"; do
  if [ -n "$candidate" ] && is_v2 "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  log "no AWS CLI v2 found (/usr/bin/aws, aws on PATH); install it, or set BOTVAULT_AWS_CLI to one (apt needs root on Debian/Ubuntu)"
  exit 1
fi
log "installing awscli (Debian package, AWS CLI v2)"
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends awscli >/dev/null
if ! is_v2 /usr/bin/aws; then
  log "/usr/bin/aws is not AWS CLI v2 after installing Debian's awscli: $(/usr/bin/aws --version 2>&1 || true)"
  exit 1
fi
log "installed in $((SECONDS - t0)) s"
echo /usr/bin/aws
