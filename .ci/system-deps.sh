#!/bin/sh
# Install the system programs the tests use, when they are missing:
#   graphviz (the `dot` program, to render maps), chromium and chromium-driver (to check
#   the HTML report in a real browser).
# Idempotent: does nothing when they are present. Installs only as root on Debian or
# Ubuntu (apt-get); elsewhere it prints what to install and exits 0, and the tests that need
# a missing program skip with the reason.
set -u

missing=""
command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    missing="$missing chromium"
fi
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"

if [ -z "$missing" ]; then
    echo "system-deps: graphviz and chromium are installed"
    exit 0
fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: warning: missing:$missing; install them with your package manager" \
         "(Debian/Ubuntu: apt-get install$missing; macOS: brew install graphviz chromium)" >&2
    exit 0
fi

echo "system-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! apt-get install -y -qq $missing >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    # shellcheck disable=SC2086
    if ! apt-get install -y -qq $missing >/dev/null 2>&1; then
        echo "system-deps: warning: apt-get could not install$missing" >&2
        exit 0
    fi
fi
echo "system-deps: installed:$missing"
exit 0
