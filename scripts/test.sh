#!/usr/bin/env bash
# The project's one test command (`npm test`, and what .ci/run runs): lints
# and checks the format, type-checks, then runs every suite.
#
# The e2e suites need a real versioned S3 server. With BOTVAULT_SWIFT_S3_ENDPOINT
# (and _ACCESS_KEY, _SECRET_KEY) set, they use that one; otherwise this starts
# OpenStack Swift (scripts/swift-s3.sh: Debian packages installed on first use,
# so root and apt) and stops it again at the end, unless it was already running.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BOTVAULT_SWIFT_S3_ENDPOINT:-}" ]; then
  exec bash scripts/swift-s3.sh with bash "$0" "$@"
fi
echo "== versioned S3 for the e2e suites: $BOTVAULT_SWIFT_S3_ENDPOINT"
# The README sandbox test runs the README's `aws` commands with AWS CLI v2 (found, or installed with apt as root).
BOTVAULT_AWS_CLI="$(bash scripts/aws-cli.sh)"
export BOTVAULT_AWS_CLI

echo "== lint, format, import directions and unused code (biome, dependency-cruiser, knip)"
npm run -s lint

# The type check (about 20 s of CPU, most of it aws-cdk-lib's types) runs beside the tests, which spend
# much of their time waiting on servers: on 2 cores that saves most of its time (README "Testing").
echo "== type check (beside the tests) and tests"
tsc_log="$(mktemp)"
# Incremental: a repeated run re-checks only what changed (about 9 s instead of 20 on this machine).
mkdir -p node_modules/.cache/botvault
npx tsc --noEmit -p tsconfig.json --incremental --tsBuildInfoFile node_modules/.cache/botvault/tsc.tsbuildinfo >"$tsc_log" 2>&1 &
tsc_pid=$!
tests=0
npx vitest run "$@" || tests=$?
if ! wait "$tsc_pid"; then
  cat "$tsc_log"
  echo "== type check failed"
  exit 1
fi
echo "== type check passed"
exit "$tests"
