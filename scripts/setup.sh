#!/usr/bin/env bash
# One command for a fresh Debian machine (as root): installs what dx-runtime needs,
# builds it, installs /usr/local/bin/dx-runtime and runs a busybox container.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DX_SKIP_APT:-}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  need=()
  for p in busybox-static gcc musl-tools linux-libc-dev make libc6-dev libseccomp2 file procps; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

[ -d node_modules/koffi ] && [ -x node_modules/@oven/bun-linux-x64/bin/bun ] || npm ci --no-audit --no-fund
export PATH="$PWD/node_modules/@oven/bun-linux-x64/bin:$PATH"
npm run --silent build
install -m 0755 dist/dx-runtime /usr/local/bin/dx-runtime

if [ -z "${DX_SKIP_EXAMPLE:-}" ]; then
  bundle=$(mktemp -d /tmp/dx-example.XXXXXX)
  examples/make-bundle.sh "$bundle" /usr/local/bin/dx-runtime >/dev/null
  (cd "$bundle" && dx-runtime run "example-$$")
  rm -rf "$bundle"
fi
