#!/usr/bin/env bash
# Makes `npm run test:web` possible: Chromium from Debian's packages at /usr/bin/chromium, which the
# browser tests and the browser benchmark drive through playwright-core (nothing downloads a browser).
# Idempotent: apt runs only when /usr/bin/chromium is missing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "web-setup: Chromium is already installed at $CHROMIUM"
  exit 0
fi
echo "web-setup: installing Chromium from Debian's packages"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  echo "web-setup: need root (or sudo) to run: apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y chromium
if [ ! -x "$CHROMIUM" ]; then
  echo "web-setup: $CHROMIUM is still missing after apt-get install chromium" >&2
  exit 1
fi
echo "web-setup: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
