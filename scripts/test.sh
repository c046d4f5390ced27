#!/usr/bin/env bash
# The project's one test command (`npm test`, and what .ci/run runs):
# starts the real versioned S3 server the e2e suite needs (OpenStack Swift,
# installed from Debian packages on first use), lints and checks the format,
# type-checks, then runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/swift-s3.sh start
eval "$(bash scripts/swift-s3.sh env)"

# The pinned SDK's "Node 22 needed after January 2027" notice would repeat in every test worker.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

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
