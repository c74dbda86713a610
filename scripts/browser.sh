#!/usr/bin/env bash
# Make sure a headless browser for the browser tests is installed: Debian chromium +
# chromium-driver, and CJK and emoji fonts so screenshots of Chinese text and 👍/👎 are readable.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -qi "noto color emoji" || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -eq 0 ]; then
  echo "Browser ready: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
echo "Installing ${missing[*]} (Debian packages) ..."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get; install Chromium and chromedriver yourself and set CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "Browser ready: $(chromium --version 2>/dev/null | head -1)"
