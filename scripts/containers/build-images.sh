#!/usr/bin/env bash
# Build hedge-sandbox:local and hedge-gateway:local (the names docker-compose.yml uses) from
# the files git tracks in this checkout, on an engine that may have no registry access:
#   - the base: node:20-bookworm-slim if the engine has it or can pull it in 20 s, else
#     hedge-base:bookworm made from this machine's installed Debian packages (make-base.sh);
#     HEDGE_BASE=image forces one.
#   - npm: a cache filled on the host (from ~/.npm and the npm registry, the host's own
#     client) goes into the build context as .npm-offline/, and the build stage runs
#     `npm ci --offline` from it. The host's npm/apt configuration never enters a context.
# The context is a temp copy (the repo is never written). Prints the base it used.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CTX="$(mktemp -d /var/tmp/hedge-ctx.XXXXXX)"
trap 'rm -rf "$CTX"' EXIT
log () { echo "build-images: $*" >&2; }

BASE="${HEDGE_BASE:-}"
if [ -z "$BASE" ]; then
  if docker image inspect node:20-bookworm-slim >/dev/null 2>&1 || timeout 20 docker pull -q node:20-bookworm-slim >/dev/null 2>&1; then
    BASE=node:20-bookworm-slim
  else
    BASE=hedge-base:bookworm
    docker image inspect "$BASE" >/dev/null 2>&1 || bash "$ROOT/scripts/containers/make-base.sh" "$BASE"
  fi
fi
log "base $BASE"

# The files git knows (tracked, or new and not ignored): what a clean checkout has.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- package.json package-lock.json tsconfig.json src policies sandbox deploy/container gateway/Dockerfile .dockerignore \
  | xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' | tar -cf - -T -) | tar -C "$CTX" -xf -

if [ "$BASE" = hedge-base:bookworm ] || [ -n "${HEDGE_NPM_OFFLINE:-}" ]; then
  # Fill a private cache with exactly the lockfile's packages.
  mkdir -p "$CTX/.npm-offline" "$CTX/.npm-fill"
  [ -d "$HOME/.npm/_cacache" ] && cp -a "$HOME/.npm/_cacache" "$CTX/.npm-offline/"
  cp "$CTX/package.json" "$CTX/package-lock.json" "$CTX/.npm-fill/"
  (cd "$CTX/.npm-fill" && npm ci --prefer-offline --cache "$CTX/.npm-offline" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  rm -rf "$CTX/.npm-fill" "$CTX/.npm-offline/_logs"
fi

# BuildKit when the client has it (a 20.10 client has it built in; newer ones need buildx):
# the legacy builder commits a container per instruction, which costs a full copy of the
# image per ENV/EXPOSE/… line on the vfs storage driver. Legacy otherwise.
build () {
  if docker buildx version >/dev/null 2>&1; then docker buildx build --load "$@"
  elif DOCKER_BUILDKIT=1 /usr/bin/docker build --help 2>/dev/null | grep -q -- '--progress'; then DOCKER_BUILDKIT=1 /usr/bin/docker build --progress plain "$@"
  else docker build "$@"; fi
}
t0=$(date +%s)
for img in sandbox gateway; do
  build --build-arg "BASE=$BASE" -f "$CTX/$img/Dockerfile" -t "hedge-$img:local" "$CTX" > "$CTX.$img.log" 2>&1 \
    || { tail -30 "$CTX.$img.log" >&2; rm -f "$CTX.$img.log"; exit 1; }
  rm -f "$CTX.$img.log"
  log "hedge-$img:local built ($(( $(date +%s) - t0 )) s since start)"
done
docker image prune -f >/dev/null 2>&1 || true
echo "$BASE"
