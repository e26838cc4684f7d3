#!/usr/bin/env bash
# The browser tests of `make test` need Chromium. Install Debian's package when it is missing
# and this machine allows it (root with apt-get, as on CI); otherwise stop at once with the
# one line a person needs, before any test has run.
set -euo pipefail
if [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found: installing Debian's chromium for the browser tests ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  command -v chromium >/dev/null && exit 0
fi
echo "make test needs Chromium: run 'sudo apt-get install chromium' (Debian/Ubuntu) or set" \
  "CHROMIUM=/path/to/chrome, or leave the browser tests out:" \
  "make test PYTEST_ARGS='-m \"not browser\"'" >&2
exit 1
