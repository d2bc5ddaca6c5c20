#!/bin/sh
# Build bindreq and run every test. Installs missing Debian build and test
# dependencies first (as root). Integration tests need root; without it
# they are skipped with a message.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
make -j2
make check
