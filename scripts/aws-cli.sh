#!/usr/bin/env bash
# The AWS CLI v2 the sandbox README test (test/e2e/sandbox-readme.test.ts)
# runs the README's `aws ...` commands with: Debian's `awscli` package
# (2.9.19 on bookworm) at /usr/bin/aws. A pip-installed or pyenv `aws` earlier
# on PATH may be v1, whose output differs; the test calls /usr/bin/aws.
#
#   bash scripts/aws-cli.sh   # installs it if /usr/bin/aws is missing or not v2 (apt, root), prints its version
set -euo pipefail

AWS=/usr/bin/aws
log() { echo "aws-cli: $*" >&2; }

if [ -x "$AWS" ] && "$AWS" --version 2>/dev/null | grep -q '^aws-cli/2'; then
  "$AWS" --version
  exit 0
fi
log "installing awscli (Debian package, AWS CLI v2)"
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends awscli >/dev/null
if ! "$AWS" --version 2>/dev/null | grep -q '^aws-cli/2'; then
  log "$AWS is not AWS CLI v2 after installing Debian's awscli: $("$AWS" --version 2>&1 || true)"
  exit 1
fi
log "installed in $((SECONDS - t0)) s"
"$AWS" --version
