#!/usr/bin/env bash
# Installs the system packages the tests need on a Debian bookworm host:
# Mesa's lavapipe (a CPU Vulkan driver) from bookworm-backports, recent enough
# for Dawn, so the WGSL shaders run without a GPU. Idempotent; needs root.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "setup-system: run as root (it installs Debian packages)" >&2
  exit 1
fi

backports=/etc/apt/sources.list.d/backports.sources
if [ ! -f "$backports" ]; then
  # Reuse the first stanza of the stock sources (same mirror and keyring), pointed at backports.
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1' /etc/apt/sources.list.d/debian.sources \
    | sed 's/^Suites:.*/Suites: bookworm-backports/' > "$backports"
fi

if ! dpkg -s mesa-vulkan-drivers 2>/dev/null | grep -q '^Version: .*bpo'; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi

test -f /usr/share/vulkan/icd.d/lvp_icd.json || { echo "setup-system: lavapipe ICD missing after install" >&2; exit 1; }
echo "setup-system: lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
