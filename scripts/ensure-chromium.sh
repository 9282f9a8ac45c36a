#!/bin/sh
# Make sure Debian's Chromium is at /usr/bin/chromium for the console's browser tests (tests/console).
# Idempotent: does nothing when it is already installed. Never downloads a browser through Playwright:
# the tests drive the distribution's package with chromium.launch(executable_path="/usr/bin/chromium").
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: /usr/bin/chromium is missing; run as root: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
