#!/usr/bin/env bash
# The Swagger UI in a real browser (.ci/browser/swagger-ui.test.mjs): Debian's Chromium,
# driven by playwright-core as pinned in .ci/browser/package-lock.json, against a real
# `exsync serve` on a free loopback port. Installs what is missing (chromium,
# chromium-driver, and nodejs/npm where there is no node), so it runs on a clean Debian
# machine as root (or with sudo) and where Chromium is already installed. Exits non-zero
# when the page does not show what it should.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
command -v chromedriver >/dev/null || packages+=(chromium-driver)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
if [ ${#packages[@]} -gt 0 ]; then
    echo "browser test: installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

npm ci --prefix .ci/browser --no-audit --no-fund --loglevel=error
cargo build --quiet --bin exsync
node .ci/browser/swagger-ui.test.mjs "${CARGO_TARGET_DIR:-target}/debug/exsync"
echo "browser test: done in $((SECONDS - started)) s"
