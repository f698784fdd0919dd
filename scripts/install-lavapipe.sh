#!/bin/sh
# Installs a software Vulkan driver (Mesa's lavapipe) that Dawn (the `webgpu` package) accepts, so the WebGPU backend
# can be tested on a machine without a GPU. Debian bookworm only, as root. Idempotent: running it again changes nothing.
#
# Dawn rejects bookworm's own Mesa 22.3 lavapipe; bookworm-backports carries Mesa 25.x, which works. libvulkan1 (the
# Vulkan loader, libvulkan.so.1) is not in backports: `-t bookworm-backports` takes it from bookworm (1.3.239), which
# loads Mesa 25's driver fine. CI calls this from .ci/run, then runs the tests with DCGAN_REQUIRE_WEBGPU=1.
set -eu

if [ "$(id -u)" -ne 0 ]; then
  echo "install-lavapipe: run as root" >&2
  exit 1
fi
. /etc/os-release
if [ "${ID:-}" != debian ] || [ "${VERSION_CODENAME:-}" != bookworm ]; then
  echo "install-lavapipe: expects Debian bookworm, found ${PRETTY_NAME:-unknown}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes

# 1. bookworm-backports in the apt sources, unless some source already names it.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  echo "install-lavapipe: added bookworm-backports to /etc/apt/sources.list.d/bookworm-backports.sources"
fi

installed_mesa() { dpkg-query -W -f='${Status} ${Version}\n' mesa-vulkan-drivers 2>/dev/null | sed -n 's/^install ok installed //p'; }
mesa_major() { installed_mesa | sed -n 's/^\([0-9][0-9]*\)\..*/\1/p'; }

# 2. The loader and the driver from backports (a Mesa older than 25 counts as missing: Dawn rejects it).
major=$(mesa_major)
if [ -z "$major" ] || [ "$major" -lt 25 ] || ! dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q 'ok installed'; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -t bookworm-backports libvulkan1 mesa-vulkan-drivers >/dev/null
fi

# 3. Report what is there.
version=$(installed_mesa)
major=$(mesa_major)
if [ -z "$major" ] || [ "$major" -lt 25 ]; then
  echo "install-lavapipe: mesa-vulkan-drivers ${version:-missing} is older than 25; Dawn will reject it" >&2
  exit 1
fi
icd=$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n 1)
if [ -z "$icd" ]; then
  echo "install-lavapipe: mesa-vulkan-drivers $version installed but no lavapipe ICD in /usr/share/vulkan/icd.d" >&2
  exit 1
fi
echo "lavapipe (mesa-vulkan-drivers) $version, libvulkan1 $(dpkg-query -W -f='${Version}' libvulkan1), ICD $icd"
