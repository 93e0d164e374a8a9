#!/usr/bin/env bash
# Foundry invariant tests of the money path (test/foundry/), with the forge pinned in
# hardhat-local/package.json beside anvil and the pinned solc-js as its compiler
# (scripts/security/solc). FOUNDRY_PROFILE=ci (the default here) runs 256 runs x 500 calls;
# FOUNDRY_PROFILE=default a quick 32 x 100.
set -euo pipefail
cd "$(dirname "$0")/../.."
forge=hardhat-local/node_modules/@foundry-rs/forge-linux-amd64/bin/forge
if [[ ! -x $forge ]]; then
  echo "forge not installed: run \`make bootstrap\` (npm ci in hardhat-local)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "node not found: install Node.js 20+" >&2; exit 1; }
export FOUNDRY_PROFILE=${FOUNDRY_PROFILE:-ci}
exec "$forge" test --color never "$@"
