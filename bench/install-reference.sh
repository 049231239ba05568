#!/bin/sh
# Fetch the published reference CLI (npm: @opencoven/cli-linux-x64) into $PEER_DIR
# (default /tmp/coven-reference) for side-by-side runs; prints the binary's path.
# Nothing is built. The binary wants glibc 2.39 or newer; on an older system this
# script stops and says so rather than guessing at a compatible loader.
set -eu
dir=${PEER_DIR:-/tmp/coven-reference}
version=${PEER_VERSION:-0.4.6}
if [ -x "$dir/coven" ] && "$dir/coven" --version >/dev/null 2>&1; then
  echo "$dir/coven"
  exit 0
fi
mkdir -p "$dir"
cd "$dir"
tarball=$(npm pack --silent "@opencoven/cli-linux-x64@$version")
tar xzf "$tarball"
install -m 0755 package/bin/coven coven
if ! ./coven --version >/dev/null 2>&1; then
  echo "the reference binary does not run here (it needs glibc >= 2.39; this system has $(ldd --version | head -1))" >&2
  exit 1
fi
echo "$dir/coven"
