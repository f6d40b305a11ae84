#!/bin/sh
# Install headless Chromium for tests/test_report.py (idempotent; needs root on Debian/Ubuntu).
set -eu
if [ -x /usr/bin/chromium ]; then
    echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null | head -n 1))"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium: /usr/bin/chromium missing and not root; install it with: apt-get install chromium" >&2
    exit 1
fi
echo "chromium: installing with apt-get"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null | head -n 1))"
