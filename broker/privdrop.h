/* SPDX-License-Identifier: ISC */
/*
 * Privilege drop for bindreqd: after start-up the daemon runs as its own
 * user with exactly CAP_NET_BIND_SERVICE and nothing else (DESIGN.md 9).
 */
#ifndef BINDREQD_PRIVDROP_H
#define BINDREQD_PRIVDROP_H

/*
 * Started as root: switch to user (no supplementary groups) keeping only
 * CAP_NET_BIND_SERVICE in permitted and effective, inheritable, ambient and
 * the bounding set cleared (bounding at most NET_BIND_SERVICE), securebits
 * set and locked. Started as non-root with CAP_NET_BIND_SERVICE (a service
 * manager's AmbientCapabilities): skip the user switch, drop the rest.
 * Started with neither: fatal, saying what is needed. Verifies the result
 * with getresuid/getresgid/getgroups/cap_get_proc/PR_GET_SECUREBITS and
 * calls fatalx() on any mismatch. Never returns on failure.
 */
void privdrop(const char *user);

/*
 * Before start-up touches anything: fatal, with the same message privdrop()
 * would give, when the drop cannot work (neither root nor the capability,
 * or an unknown or root --user), so that no socket file is left behind.
 */
void privdrop_preflight(const char *user);

/* No core dumps, no new processes, bounded open files. Fatal on failure. */
void privdrop_rlimits(void);

#endif /* BINDREQD_PRIVDROP_H */
