#!/usr/bin/env bash
# Make sure a headless browser for the browser tests is installed: Debian chromium +
# chromium-driver, and CJK and emoji fonts so screenshots of Chinese text and 👍/👎 are readable.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -qi "noto color emoji" || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -eq 0 ]; then
  echo "Browser ready: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
apt_install "install Chromium and chromedriver yourself and set CHROMIUM=/path/to/chromium" "${missing[@]}"
echo "Browser ready: $(chromium --version 2>/dev/null | head -1)"
