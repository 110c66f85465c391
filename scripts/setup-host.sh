#!/usr/bin/env bash
# Installs everything bootforge's build, tests and QEMU proofs need on a Debian 12 host (run as root).
# Idempotent: installs only what is missing, and runs `npm ci` only when node_modules is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

# Host tools: QEMU + OVMF for the boot tests; the rest read our outputs back in integration tests
# (cpio, sfdisk, sgdisk, fsck.fat, mtools, file) or lint rendered scripts (shellcheck); tmux drives
# `bootforge vm` at a terminal in test/e2e/vm.test.ts.
PACKAGES=(
  qemu-system-x86 qemu-utils ovmf
  cpio fdisk gdisk dosfstools mtools e2fsprogs file
  shellcheck gnupg xz-utils zstd dpkg-dev bmap-tools kmod busybox-static openssh-client tmux
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-host: missing Debian packages: ${missing[*]}" >&2
    echo "setup-host: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup-host: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "setup-host: bootforge needs Node.js >= 20.19 (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "setup-host: Debian 12's nodejs is 18; install Node 20 or newer from nodejs.org, NodeSource or nvm." >&2
  exit 1
fi

# npm ci when the lock changed since the last install (or nothing is installed).
stamp=node_modules/.bootforge-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "setup-host: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
