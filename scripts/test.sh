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

echo "== lint, format and import directions (biome, dependency-cruiser)"
npm run -s lint

echo "== type check"
npx tsc --noEmit -p tsconfig.json

echo "== tests"
npx vitest run "$@"
