#!/bin/sh
# Installs a software Vulkan driver (Mesa's lavapipe) that Dawn (the `webgpu` package) accepts, so the WebGPU backend
# can be tested on a machine without a GPU. Debian bookworm only, as root. Idempotent: running it again changes nothing.
#
# Dawn rejects bookworm's own Mesa 22.3 lavapipe; bookworm-backports carries Mesa 25.x, which works. libvulkan1 (the
# Vulkan loader, libvulkan.so.1) is not in backports: `-t bookworm-backports` takes it from bookworm (1.3.239), which
# loads Mesa 25's driver fine. CI calls this from .ci/run, then runs the tests with DCGAN_REQUIRE_WEBGPU=1.
#
# bookworm-backports comes from the mirror the machine already uses: the new apt source is a copy of the machine's own
# entry for bookworm (its URIs, Signed-By and options) with the suite changed, so it works behind any mirror or proxy.
#   sh scripts/install-lavapipe.sh                 # as root
#   sh scripts/install-lavapipe.sh --print-source  # only print the apt source it would add (reads $APT_ETC, default
#                                                  # /etc/apt; no root needed, nothing written)
set -eu

APT_ETC=${APT_ETC:-/etc/apt}
BACKPORTS=bookworm-backports

# The enabled `deb` entries of the one-line files (sources.list, *.list) for suite $1, each as one line rewritten to
# suite $2 (component main), options ([signed-by=…] and the like) kept.
one_line_entries() {
  for file in "$APT_ETC/sources.list" "$APT_ETC"/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk -v want="$1" -v suite="$2" '
      {
        line = $0
        sub(/^[ \t]+/, "", line)
        if (line !~ /^deb[ \t]/) next
        options = ""
        if (match(line, /\[[^]]*\]/)) {
          options = substr(line, RSTART, RLENGTH) " "
          line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
        }
        sub(/[ \t]#.*$/, "", line)
        split(line, field, /[ \t]+/) # deb URI SUITE COMPONENT...
        if (field[3] == want) print "deb " options field[2] " " suite " main"
      }' "$file"
  done
}

# The enabled stanzas of the deb822 files (*.sources) whose Types include deb and whose Suites include $1, each
# rewritten to Types deb, Suites $2 and Components main, every other field (URIs, Signed-By, options) kept as it is;
# stanzas separated by an empty line.
deb822_entries() {
  for file in "$APT_ETC"/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk -v want="$1" -v suite="$2" '
      BEGIN { RS = ""; FS = "\n" }
      {
        out = ""; types = ""; suites = ""; enabled = "yes"; field = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          if (line !~ /^[ \t]/) {
            field = tolower(substr(line, 1, index(line, ":") - 1))
            value = substr(line, index(line, ":") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", value)
            if (field == "types") { types = value; line = "Types: deb" }
            else if (field == "suites") { suites = value; line = "Suites: " suite }
            else if (field == "components") line = "Components: main"
            else if (field == "enabled") enabled = tolower(value)
          } else if (field == "types" || field == "suites" || field == "components") {
            continue # a continuation of a field that was rewritten
          }
          out = out line "\n"
        }
        if (enabled == "no") next
        if ((" " types " ") !~ / deb / && types != "deb") next
        gsub(/[ \t]+/, " ", suites)
        if ((" " suites " ") ~ (" " want " ")) printf "%s%s", (printed++ ? "\n" : ""), out
      }' "$file"
  done
}

# With --print-source: what step 1 would add, and nothing else.
if [ "${1:-}" = --print-source ]; then
  if [ -n "$(one_line_entries "$BACKPORTS" "$BACKPORTS")$(deb822_entries "$BACKPORTS" "$BACKPORTS")" ]; then
    echo "present"
  elif entry=$(deb822_entries bookworm "$BACKPORTS") && [ -n "$entry" ]; then
    printf '%s\n%s\n' "$BACKPORTS.sources" "$(printf '%s\n' "$entry" | awk 'BEGIN { RS = "" } NR == 1 { print; exit }')"
  elif entry=$(one_line_entries bookworm "$BACKPORTS") && [ -n "$entry" ]; then
    printf '%s\n%s\n' "$BACKPORTS.list" "$(printf '%s\n' "$entry" | head -n 1)"
  else
    echo "install-lavapipe: no apt source for Debian bookworm in $APT_ETC/sources.list or $APT_ETC/sources.list.d/ to take the mirror from" >&2
    exit 1
  fi
  exit 0
fi

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

# 1. bookworm-backports in the apt sources, from the mirror of the machine's bookworm entry, unless one is there.
source=$(sh "$0" --print-source)
if [ "$source" != present ]; then
  file="$APT_ETC/sources.list.d/$(printf '%s\n' "$source" | head -n 1)"
  printf '%s\n' "$source" | tail -n +2 > "$file"
  echo "install-lavapipe: added $BACKPORTS to $file:"
  sed 's/^/  /' "$file"
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
