#!/usr/bin/env bash
# Sets up a Debian 12 machine for tsbuild: the system packages it and its tests use, the npm dependencies, the
# bundle, and (as root) an unprivileged test user with subordinate uid/gid ranges for the rootless tests.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# uidmap: newuidmap/newgidmap for rootless id ranges. busybox-static, mmdebstrap: offline base images.
# docker-registry, apache2-utils: the real registry for tests (htpasswd). skopeo, umoci, runc: image validators.
# zstd, pigz, xz-utils, bzip2: layer and archive formats. libdeflate-dev: the fast gzip layer compressor (native/deflate.c). attr: getfattr/setfattr for layer xattrs. tmux: terminal tests. openssh-client: a real ssh-agent for the ssh mount tests. iproute2, procps, psmisc: sandbox tests.
PACKAGES=(uidmap busybox-static mmdebstrap debian-archive-keyring docker-registry apache2-utils skopeo umoci runc
  zstd pigz libdeflate-dev attr xz-utils bzip2 tmux iproute2 procps psmisc util-linux git ca-certificates hyperfine
  openssh-client)
missing=()
for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run build

if [ "$(id -u)" = 0 ]; then
  user="${TSBUILD_TEST_USER:-tsbuild-test}"
  # No automatic subordinate range from login.defs: the tests expect exactly 200000-265535 (65536 ids, so that
  # session uids 1..65535 all map and image files owned by e.g. _apt (42) or nobody (65534) keep their owners).
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$user"
  grep -q "^$user:" /etc/subuid || usermod --add-subuids 200000-265535 "$user"
  grep -q "^$user:" /etc/subgid || usermod --add-subgids 200000-265535 "$user"
fi
