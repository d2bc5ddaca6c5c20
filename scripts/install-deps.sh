#!/bin/sh
# SPDX-License-Identifier: ISC
# Install what bindreq needs to build and test, from Debian's packages, if
# anything is missing. Needs root to install; without root it only reports.
set -eu

# Build: compiler, libcap, libseccomp. Tests: cmocka, iproute2 and
# util-linux (network namespaces), curl and real servers for the
# unmodified-programs tests, systemd's tools for unit checks and the proxy,
# dpkg-dev, debhelper and lintian to build and check the Debian packages,
# valgrind and clang's libFuzzer runtime (libclang-rt-dev) for scripts/test.sh;
# mmdebstrap (with its keyring) and systemd-container (systemd-nspawn) for
# itest_systemd, which boots the packages under a real systemd as PID 1.
# Programs that bindreq-run must serve unmodified (itest_programs): Go
# (a static net/http server built in the test), caddy, busybox-static's
# httpd, dnsmasq and unbound (UDP with SO_REUSEADDR), mptcpize (MPTCP),
# node (a dgram server with reuseAddr), dovecot (clears its environment
# before it binds), bind9 (SO_REUSEPORT groups per thread), xinetd (many
# ports from one process), haproxy (dual-stack, sharded ports, a reload
# that re-execs) and dig (dnsutils) to ask the DNS servers.
PKGS="make gcc clang pkg-config libcap-dev libseccomp-dev libcmocka-dev \
iproute2 util-linux passwd curl python3 nginx-light systemd procps \
dpkg-dev debhelper lintian valgrind libclang-rt-dev \
mmdebstrap debian-archive-keyring systemd-container \
golang-go caddy busybox-static dnsmasq unbound mptcpd mptcpize dnsutils \
nodejs dovecot-imapd bind9 xinetd haproxy"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Servers must not start as system daemons behind our back: nginx, caddy
# and haproxy would take port 80, dnsmasq, unbound and bind9 port 53 (and a
# running system resolver would hide the test's own), dovecot 143, xinetd
# its services. policy-rc.d 101 tells invoke-rc.d (and deb-systemd-invoke)
# to start nothing while they are installed.
if echo "$missing" | grep -Eq 'nginx|caddy|dnsmasq|unbound|mptcpd|dovecot|bind9|xinetd|haproxy'; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
