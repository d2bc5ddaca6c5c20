/* SPDX-License-Identifier: ISC */
/*
 * bindreq-run's seccomp supervisor: binds for programs no shim reaches.
 *
 * supervise_exec() traps bind(2) in this process with a seccomp filter
 * that hands the call to a helper process (SECCOMP_RET_USER_NOTIF), then
 * execs the program in place. The helper, forked before the filter and so
 * outside it, answers each trapped bind of a privileged port by having
 * bindreqd bind the program's own socket (bindreq_bind) and lets every
 * other bind go on to the kernel untouched. It runs as the program's uid
 * with no capabilities, exits once no process under the filter is left,
 * and can give a program nothing that calling bindreq_bind itself would
 * not.
 */
#ifndef BINDREQ_SUPERVISE_H
#define BINDREQ_SUPERVISE_H

/* The helper's pid, exported to the program. */
#define SUPERVISE_PID_ENV	"BINDREQ_SUPERVISOR_PID"

struct supervise_opts {
	int deny_io_uring;	/* io_uring_setup fails with ENOSYS */
};

/*
 * Whether the supervisor can run here: Linux 5.19 or later, not root,
 * no capabilities. Returns 0, or -1 after saying why on stderr
 * (prefixed with prog).
 */
int supervise_check(const char *prog);

/*
 * Install the filter, start the helper, probe that it can read this
 * process's memory, and exec path with argv (the environment as it is).
 * Returns only on failure, after saying why: an exit status for
 * bindreq-run (126 or 127 when exec failed, 1 otherwise).
 */
int supervise_exec(const char *prog, const char *path, char *const argv[],
    const struct supervise_opts *opts);

#endif /* BINDREQ_SUPERVISE_H */
