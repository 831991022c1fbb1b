#!/usr/bin/env bash
# Remove a compose stack and its volumes even after a SIGKILL: the sandbox marks .store/
# append-only (chattr +a) and only a clean stop clears it, so `down -v` then fails with
# "unlinkat …/.store/…: operation not permitted". This clears the flag in each workspace
# volume (a throwaway container with LINUX_IMMUTABLE, DAC_OVERRIDE and FOWNER only), then runs `down -v`.
#   scripts/containers/cleanup.sh [PROJECT]      (default: compose's, the directory name)
# Uses `docker compose` when present, else `docker-compose`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROJECT="${1:-${COMPOSE_PROJECT_NAME:-$(basename "$PWD" | tr -cd 'a-z0-9_-' | tr 'A-Z' 'a-z')}}"
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
export HEDGE_JWT_SECRET="${HEDGE_JWT_SECRET:-cleanup-only-not-a-secret-cleanup-only-xx}"
"${COMPOSE[@]}" -p "$PROJECT" --profile baseline kill -s SIGKILL >/dev/null 2>&1 || true
for vol in workspace-hedged workspace-baseline; do
  v="${PROJECT}_${vol}"
  docker volume inspect "$v" >/dev/null 2>&1 || continue
  # root beside a local engine: clear it in place (a container costs a full image copy on vfs)
  mp="$(docker volume inspect -f '{{.Mountpoint}}' "$v")"
  if [ "$(id -u)" = 0 ] && [ -d "$mp" ] && command -v chattr >/dev/null; then chattr -R -a "$mp" 2>/dev/null || true; continue; fi
  docker run --rm --network none --cap-drop ALL --cap-add LINUX_IMMUTABLE --cap-add DAC_OVERRIDE --cap-add FOWNER --user 0 \
    -v "$v:/w" --entrypoint chattr hedge-sandbox:local -R -a /w >/dev/null 2>&1 || true
done
"${COMPOSE[@]}" -p "$PROJECT" --profile baseline down -v --remove-orphans
