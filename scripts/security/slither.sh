#!/usr/bin/env bash
# slither on the canonical build (artifacts/, Hardhat layout; `make compile` first), gated
# by the reviewed triage in docs/security.md: fails on any High without a triage row.
# slither is pinned in its own venv (scripts/security/requirements-slither.txt, a full
# freeze): it needs web3 < 8, the project pins web3 8.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=build/slither-venv
req=scripts/security/requirements-slither.txt
stamp=$venv/.installed
if [[ ! -f $stamp || $req -nt $stamp ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --no-deps -r "$req"
  touch "$stamp"
fi
rm -f build/slither.json
# slither exits non-zero whenever it reports anything: the gate below decides.
"$venv/bin/slither" hardhat-local --compile-force-framework hardhat --hardhat-ignore-compile \
  --hardhat-artifacts-directory ../artifacts --json build/slither.json \
  >build/slither.txt 2>&1 || true
if [[ ! -s build/slither.json ]]; then
  cat build/slither.txt >&2
  echo "slither produced no report" >&2
  exit 2
fi
.venv/bin/python -m scripts.security.slither_gate build/slither.json docs/security.md "$@"
