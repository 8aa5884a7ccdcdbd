#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing: PostgreSQL (ledger,
# webhook and redemption tests run on it too), Redis (the RQ worker tests) and Chromium (the
# browser tests); also wrk, the load generator of bench/webhook_ack.py. Needs root or sudo;
# prints what to do otherwise, and the tests that need a missing service are skipped with a
# visible message.
set -euo pipefail

need=()
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
  echo "Missing system packages: ${need[*]}. Install them with: apt-get install ${need[*]}" >&2
  exit 0
fi
echo "Installing system packages for the tests: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null || true
# Services must not start on install (the tests start their own on 127.0.0.1).
printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null && $sudo chmod +x /usr/sbin/policy-rc.d
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
$sudo rm -f /usr/sbin/policy-rc.d
