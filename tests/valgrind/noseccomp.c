/* SPDX-License-Identifier: ISC */
/*
 * LD_PRELOAD shim for running bindreqd under valgrind (tests/valgrind/
 * check.sh), never anywhere else.
 *
 * valgrind 3.19 (Debian 12) does not implement seccomp(2): the daemon's
 * sandbox_install() would find no seccomp support and the daemon would
 * refuse to start, even with --sandbox-debug. This shim lets the whole
 * filter be built, checked and freed as usual, and only skips loading it
 * into the kernel: libseccomp is told the kernel has API level 3 (the
 * actions the filter uses), and seccomp_load() returns success without
 * doing anything. Memcheck then sees every line of the daemon's own code
 * run; what it cannot see is the filter at work, which the other
 * integration tests cover.
 */
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

int seccomp_load(const scmp_filter_ctx ctx);

__attribute__((constructor)) static void
pretend_api_level(void)
{
	seccomp_api_set(3);
}

int
seccomp_load(const scmp_filter_ctx ctx)
{
	(void)ctx;
	dprintf(STDERR_FILENO, "valgrind-noseccomp: seccomp filter built, "
	    "not loaded (valgrind cannot run seccomp(2))\n");
	return 0;
}
