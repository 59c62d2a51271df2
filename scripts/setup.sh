#!/usr/bin/env bash
# Installs the system packages KnoxCall needs to build and run (Debian/Ubuntu). Safe to run again.
set -euo pipefail
packages=(libsqlite3-dev libncursesw5-dev sqlite3 tmux curl)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
