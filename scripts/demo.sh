#!/bin/sh
# SPDX-License-Identifier: ISC
# The demo: bring up bindreqd and serve port 80 as a non-root user.
#
# Installs missing build dependencies, builds, creates the users
# `bindreq` (the daemon's) and `bindreq-demo` (the web server's) if they
# do not exist, grants bindreq-demo tcp port 80 on 127.0.0.1 and nothing
# else, then runs Python's http.server as bindreq-demo on 127.0.0.1:80
# through bindreq-run, fetches a page with curl, shows that another port
# is refused, prints the audit log, and cleans up everything it made.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it starts bindreqd and creates users)" >&2; exit 1; }
sh scripts/install-deps.sh
make -j2 >/dev/null

# Under /run, root's and 0755: bindreqd refuses a policy below a directory
# others may write, such as /tmp.
work=$(mktemp -d /run/bindreq-demo.XXXXXX)
chmod 755 "$work"
made_users=""
daemon=""
server=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	wait 2>/dev/null || true
	for u in $made_users; do userdel "$u" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

for u in bindreq bindreq-demo; do
	if ! id "$u" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
		made_users="$made_users $u"
	fi
done

cat > "$work/policy" <<'POLICY'
# bindreq demo policy: the demo user may serve HTTP on the loopback address.
allow user bindreq-demo tcp 80 on 127.0.0.1
POLICY
chmod 644 "$work/policy"
echo "<h1>served on port 80 by $(id -un bindreq-demo 2>/dev/null || echo bindreq-demo), a non-root user</h1>" > "$work/index.html"
chmod 644 "$work/index.html"

echo "== bindreqd --check"
build/bindreqd --check --policy "$work/policy"
echo "== starting bindreqd (drops to user bindreq with only CAP_NET_BIND_SERVICE)"
build/bindreqd --policy "$work/policy" --socket "$work/bindreq.sock" \
    --user bindreq --log "$work/audit.log" &
daemon=$!
i=0
until [ -S "$work/bindreq.sock" ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' /proc/$daemon/status | sed 's/^/   bindreqd /'

echo "== python3 http.server as bindreq-demo on 127.0.0.1:80, via bindreq-run"
setpriv --reuid bindreq-demo --regid bindreq-demo --clear-groups \
    build/bindreq-run --socket "$work/bindreq.sock" -- \
    /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$work" 80 \
    >"$work/http.log" 2>&1 &
server=$!
i=0
until curl -s -o /dev/null http://127.0.0.1:80/ || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
echo "   curl http://127.0.0.1:80/ →"
curl -sS --max-time 5 http://127.0.0.1:80/ | sed 's/^/   /'
ps -o user:16=,pid=,args= -p "$server" | sed 's/^/   server: /'

echo "== the same user asking for port 81 (not granted)"
setpriv --reuid bindreq-demo --regid bindreq-demo --clear-groups \
    build/bindreq-run --socket "$work/bindreq.sock" -- \
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 81))' 2>&1 |
    tail -n 1 | sed 's/^/   /' || true

echo "== audit log"
sed 's/^/   /' "$work/audit.log"
