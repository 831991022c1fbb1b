#!/usr/bin/env bash
# npm run test:containers: the container tests on a real engine.
#   1. an engine: `docker info` answers, or (as root) install Debian's docker.io and
#      docker-compose if missing and start `dockerd --storage-driver=vfs` for this run only;
#      where none can run, print one line and exit 0 (skipped);
#   2. both images (scripts/containers/build-images.sh: offline bases when nothing can be
#      pulled); HEDGE_SKIP_BUILD=1 reuses hedge-sandbox:local / hedge-gateway:local;
#   3. tap test/containers/*.test.ts, one file at a time;
#   4. stops the dockerd it started (every container the tests start is removed by them).
set -uo pipefail
cd "$(dirname "$0")/../.."
STARTED=""
skip () { echo "containers: skipped ($*)"; exit 0; }
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "no container engine answers and not root to start one"
  if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
    command -v apt-get >/dev/null || skip "no dockerd and no apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q docker.io docker-compose >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -q docker.io docker-compose >/dev/null 2>&1; } ||
      skip "apt-get install docker.io docker-compose failed"
  fi
  dockerd --storage-driver=vfs >/var/tmp/hedge-dockerd.log 2>&1 &
  STARTED=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { kill "$STARTED" 2>/dev/null; skip "dockerd did not start (see /var/tmp/hedge-dockerd.log)"; }
fi
stop_engine () { if [ -n "$STARTED" ]; then kill "$STARTED" 2>/dev/null; wait "$STARTED" 2>/dev/null; fi; }
trap stop_engine EXIT
t0=$(date +%s)
if [ -z "${HEDGE_SKIP_BUILD:-}" ]; then
  bash scripts/containers/build-images.sh >/dev/null || { echo "containers: image build failed"; exit 1; }
fi
echo "containers: images ready after $(( $(date +%s) - t0 )) s"
npx tap --jobs 1 --timeout 1800 --disable-coverage "$@" test/containers/*.test.ts
rc=$?
echo "containers: done after $(( $(date +%s) - t0 )) s"
exit $rc
