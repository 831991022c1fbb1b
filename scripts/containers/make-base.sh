#!/usr/bin/env bash
# Build the offline base image (default tag hedge-base:bookworm) from this machine's own
# INSTALLED Debian packages: no registry, no mirror, no debootstrap. For each package in the
# dependency closure (Depends/Pre-Depends, no Recommends) of what the images need, the files
# dpkg lists for it are copied into a staging tree with the merged-/usr layout, then
# `docker import`ed. Used when `FROM node:20-bookworm-slim` cannot be pulled (air-gapped
# engines): pass it as the Dockerfiles' BASE build argument.
#
# Never copied: package-access configuration (apt sources/keys/auth, npm/pip config), apt
# itself, docs, man pages, locales. /etc/passwd and friends are written fresh (root + nobody).
# Needs: root, dpkg-query, python3, docker. Packages missing on the host make it fail loudly
# (scripts/setup.sh installs the sandbox's; `apt-get install nodejs tini` the rest).
set -euo pipefail
TAG="${1:-hedge-base:bookworm}"
PACKAGES=(nodejs chromium python3-fastapi python3-uvicorn python3-jupyter-client python3-ipykernel
  util-linux e2fsprogs acl tini passwd login base-files base-passwd bash dash coreutils
  debianutils diffutils findutils grep gzip hostname libc-bin ncurses-base sed tar ca-certificates)

if [ "$(id -u)" != 0 ]; then echo "make-base: run as root (reads every package's files)" >&2; exit 2; fi
STAGE="$(mktemp -d /var/tmp/hedge-base.XXXXXX)"
trap 'rm -rf "$STAGE"' EXIT

# The closure, from the host's dpkg database only (alternatives: the first one installed;
# virtual names: an installed provider).
python3 - "${PACKAGES[@]}" > "$STAGE.pkgs" <<'PY'
import subprocess, sys, re
out = subprocess.run(['dpkg-query', '-W', '-f=${Package}\t${Status}\t${Depends}, ${Pre-Depends}\t${Provides}\n'],
                     capture_output=True, text=True, check=True).stdout
installed, provides = {}, {}
for line in out.splitlines():
    name, status, deps, prov = (line.split('\t') + ['', '', ''])[:4]
    if not status.endswith(' installed'): continue
    installed[name] = deps
    for p in filter(None, (x.strip().split(' ')[0] for x in prov.split(','))): provides.setdefault(p, name)
def pick(alts):
    for a in alts:
        n = re.split(r'[\s(:]', a.strip(), 1)[0]
        if n in installed: return n
        if n in provides: return provides[n]
    return None
want, todo = set(), list(sys.argv[1:])
while todo:
    n = todo.pop()
    if n in want: continue
    if n not in installed: sys.exit(f'make-base: {n} is not installed on this machine')
    if n in ('apt', 'apt-utils', 'debconf'): continue  # no package manager, no apt config in the image
    want.add(n)
    for dep in filter(None, (d.strip() for d in installed[n].split(','))):
        got = pick(dep.split('|'))
        if got is None: sys.exit(f'make-base: {n} needs "{dep}", not installed here')
        todo.append(got)
print('\n'.join(sorted(want)))
PY
echo "make-base: $(wc -l < "$STAGE.pkgs") packages" >&2

# Their files, canonicalised onto /usr (this host is merged-/usr), minus what must not travel.
mkdir -p "$STAGE/root"
xargs dpkg-query -L < "$STAGE.pkgs" 2>/dev/null | grep '^/' | python3 -c '
import os, sys
seen = set()
for p in sys.stdin:
    p = p.rstrip("\n")
    if p in ("/", "/.") or not os.path.lexists(p): continue
    c = os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))
    if c in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"): continue
    if c.startswith(("/etc/apt", "/var/lib/apt", "/var/cache", "/var/log", "/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/", "/usr/share/lintian/")): continue
    if os.path.basename(c) in ("npmrc", ".npmrc", "pip.conf", "sources.list") or c.startswith("/etc/pip"): continue
    if c not in seen: seen.add(c); print(c)
' > "$STAGE.files"
tar -C / --no-recursion -cf - -T "$STAGE.files" 2>/dev/null | tar -C "$STAGE/root" -xf -
R="$STAGE/root"
# npm as installed (it updates itself in place, beyond what dpkg lists), without any npmrc
rm -rf "$R/usr/lib/node_modules/npm"; cp -a /usr/lib/node_modules/npm "$R/usr/lib/node_modules/npm"
find "$R/usr/lib/node_modules/npm" -name npmrc -o -name .npmrc | xargs -r rm -f
for d in bin sbin lib lib64; do [ -e "$R/usr/$d" ] || mkdir -p "$R/usr/$d"; ln -sfn "usr/$d" "$R/$d"; done
install -d -m 1777 "$R/tmp" "$R/var/tmp"
install -d -m 0700 "$R/root"
install -d -m 0755 "$R/run" "$R/home" "$R/mnt" "$R/etc/chromium/policies/managed" "$R/var/lib/dpkg"
# /etc/alternatives: only links whose target made it in (e.g. awk, pager)
if [ -d /etc/alternatives ]; then mkdir -p "$R/etc/alternatives"
  for l in /etc/alternatives/*; do t="$(readlink "$l" || true)"; if [ -n "$t" ] && [ -e "$R$t" ]; then ln -sfn "$t" "$R/etc/alternatives/$(basename "$l")"; fi; done; fi
cat > "$R/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
cat > "$R/etc/group" <<'P'
root:x:0:
nogroup:x:65534:
P
printf 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' > "$R/etc/shadow"
printf 'root:*::\nnogroup:*::\n' > "$R/etc/gshadow"
chmod 0640 "$R/etc/shadow" "$R/etc/gshadow"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' > "$R/etc/nsswitch.conf"
: > "$R/var/lib/dpkg/status"
ldconfig -r "$R" 2>/dev/null || true
# Same result as the registry image for the Dockerfiles: nothing left to install.
for must in usr/bin/node usr/bin/npm usr/bin/chromium usr/bin/python3 usr/bin/tini usr/bin/setpriv usr/sbin/useradd usr/bin/chattr; do
  [ -e "$R/$must" ] || { echo "make-base: $must missing from the tree" >&2; exit 1; }
done
if find "$R/etc" -path '*apt*' -o -name '*npmrc*' -o -name 'pip.conf' | grep -q .; then echo "make-base: package-access config found in the tree" >&2; exit 1; fi
tar -C "$R" --numeric-owner -cf - . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["/bin/bash"]' - "$TAG" >/dev/null
echo "make-base: $TAG ($(du -sh "$R" | cut -f1))" >&2
rm -f "$STAGE.pkgs" "$STAGE.files"
