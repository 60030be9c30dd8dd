#!/usr/bin/env bash
# System programs the tests drive, installed only when missing (idempotent; quiet).
#   bash tests/system-deps.sh
# One function per program; each checks for its program first and installs it from Debian's
# packages otherwise (CI runs as root). Add a program by adding a function and a call below.
set -euo pipefail

APT_UPDATED=0

apt_install() {
  local sudo="" log
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "system-deps: need root (or sudo) to install: $*" >&2; return 1; }
    sudo="sudo"
  fi
  log="$(mktemp)"
  # Wait for a concurrent apt/dpkg (another install) rather than failing on its lock; show
  # apt's output only when it fails.
  if { [ "$APT_UPDATED" -eq 1 ] || $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq; } \
       >"$log" 2>&1 &&
     DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
       --no-install-recommends "$@" >>"$log" 2>&1; then
    APT_UPDATED=1
    rm -f "$log"
  else
    cat "$log" >&2
    rm -f "$log"
    echo "system-deps: apt-get install $* failed" >&2
    return 1
  fi
}

# Chromium (and its WebDriver): the HTML export's tests open the page in a real headless browser.
install_chromium() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  echo "system-deps: installing chromium" >&2
  apt_install chromium chromium-driver
  command -v chromium >/dev/null 2>&1 || { echo "system-deps: chromium missing after install" >&2; return 1; }
}

install_chromium

# Virtuoso (virtuoso-t, isql-vt): the remote-store tests push the graph to a private Virtuoso they
# start themselves (tests/virtuoso.py). Only the binaries: no system service, no database.
install_virtuoso() {
  if command -v virtuoso-t >/dev/null 2>&1; then
    return 0
  fi
  echo "system-deps: installing virtuoso" >&2
  apt_install virtuoso-opensource-7-bin
  command -v virtuoso-t >/dev/null 2>&1 || { echo "system-deps: virtuoso-t missing after install" >&2; return 1; }
}

install_virtuoso
