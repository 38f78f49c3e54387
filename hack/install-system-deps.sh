#!/usr/bin/env bash
# Installs the Debian packages the test suite needs besides the Python environment and the
# control-plane binaries: `prometheus`, which the metrics integration tests start to scrape a
# MetricsServer for real, and `tmux`, the real terminal in which a test drives the dev mode's
# live view and reads its screen.
#
# Idempotent: a package that is already installed is skipped, and apt is not touched at all when
# nothing is missing. Needs root (or passwordless sudo) only when something must be installed.
set -euo pipefail

packages=(prometheus tmux)

missing=()
for pkg in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    echo "install-system-deps: $pkg already installed ($(dpkg-query -W -f='${Version}' "$pkg"))"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-deps: nothing to do"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "install-system-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-system-deps: apt-get update"
"${sudo[@]}" apt-get update
echo "install-system-deps: apt-get install -y --no-install-recommends ${missing[*]}"
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

# The Debian package enables a system service; the tests start their own instances on free
# loopback ports, so a running system instance only wastes resources (and port 9090). Stopping
# it is best effort: containers usually have no init system at all.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

for pkg in "${missing[@]}"; do
  echo "install-system-deps: installed $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
done
