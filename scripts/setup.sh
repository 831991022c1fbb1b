#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine with Node 20: Debian packages for
# the sandbox (Chromium, the kernel server's Python stack), the agent's non-root
# user, and npm dependencies. Safe to run again; does nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(chromium python3-fastapi python3-uvicorn python3-jupyter-client python3-ipykernel util-linux e2fsprogs iproute2 acl)
PY=/usr/bin/python3   # Debian's interpreter: the packages above belong to it, not to whatever python3 is first on PATH

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # update only when the package lists are empty or older than a day
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
      apt-get update -qq
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

"$PY" -c 'import fastapi, uvicorn, jupyter_client, ipykernel' 2>/dev/null || {
  echo "setup: $PY cannot import fastapi/uvicorn/jupyter_client/ipykernel; install python3-fastapi python3-uvicorn python3-jupyter-client python3-ipykernel" >&2
  exit 1
}

# The agent's processes (kernel, Chromium) run as this user when the launcher is root.
# The hedged shape runs Chromium as hedge-browser instead; both share output/ through the
# hedge-work group (docs/separate-identities.md).
if [ "$(id -u)" = 0 ]; then
  for u in hedge-agent hedge-browser; do
    id "$u" >/dev/null 2>&1 || useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$u"
  done
  getent group hedge-work >/dev/null || groupadd --system hedge-work
fi

# npm dependencies: install when absent or when the lock file changed since the last install.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
