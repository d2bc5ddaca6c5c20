/* SPDX-License-Identifier: ISC */
/*
 * What the two ways of intercepting bind (the LD_PRELOAD shim and
 * bindreq-run's seccomp supervisor) share: which programs the shim cannot
 * reach, and what a program is told when the broker did not bind.
 *
 * Every function here may run in a child between fork (or vfork) and
 * exec: it only opens, reads and closes files, with no allocation.
 */
#ifndef BINDREQ_INTERCEPT_H
#define BINDREQ_INTERCEPT_H

#include <stddef.h>

/* bindreq-run exports its own path here for the shim's exec wrappers. */
#define INTERCEPT_RUN_ENV	"BINDREQ_RUN"

/*
 * Whether the program at path issues bind(2) where no shim can see it:
 * a native ELF without PT_INTERP (static, static-pie) or a Go program
 * (a "Go" ELF note or a .go.buildinfo section: Go makes raw system calls
 * even when dynamically linked). A "#!" script is judged by its
 * interpreter, one level deep. Set-user-ID and set-group-ID files and
 * files with capabilities are never: the supervisor's no_new_privs would
 * take their privilege away.
 * Returns 1 or 0; anything unreadable is 0 (exec will say why).
 */
int intercept_needs_trap(const char *path);

/*
 * Resolve file as execvp(3) does: a name with a '/' is itself, otherwise
 * the first executable regular file of that name in path_env ("PATH";
 * NULL means "/bin:/usr/bin"). Returns 0 with the path in out, or -1.
 */
int intercept_find(const char *file, const char *path_env, char *out,
    size_t len);

/*
 * The errno a program sees when the broker did not bind: errors bind(2)
 * gives a privileged process pass on, everything else (no broker, a
 * limit, a refused socket) is the kernel's own EACCES.
 */
int intercept_bind_errno(int err);

#endif /* BINDREQ_INTERCEPT_H */
