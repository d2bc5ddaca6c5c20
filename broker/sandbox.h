/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's seccomp sandbox (DESIGN.md 9, STYLE.md 3).
 */
#ifndef BINDREQD_SANDBOX_H
#define BINDREQD_SANDBOX_H

#include <stdbool.h>

/*
 * Set no_new_privs and load the allowlist filter. With debug, a call
 * outside the list is logged by the kernel (SCMP_ACT_LOG) instead of
 * killing the process: for development only. rundir_fd, if not -1, is an
 * O_PATH descriptor of the directory holding the daemon's socket: the
 * filter allows unlinkat(2) on that descriptor only, so that the daemon
 * can remove its own socket at shutdown and nothing else. Returns 0, or
 * -1 with errno
 * set (nothing loaded, or no_new_privs set but no filter).
 */
int sandbox_install(bool debug, int rundir_fd);

/* sandbox_install() or fatal. */
void sandbox_enter(bool debug, int rundir_fd);

#endif /* BINDREQD_SANDBOX_H */
