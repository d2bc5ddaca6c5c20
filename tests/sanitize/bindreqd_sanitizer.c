/*
 * What bindreqd needs to run, and to report, under AddressSanitizer and
 * UndefinedBehaviorSanitizer inside its own confinement. Linked into the
 * daemon only in `make SANITIZE=1` builds (Makefile); nothing here is in
 * a normal build.
 *
 * The confined daemon (RLIMIT_NPROC 0, the seccomp allowlist) cannot do
 * three things the sanitizers do by default:
 *  - LeakSanitizer stops the world at exit with a ptrace()ing thread: it
 *    fails, and a clean exit becomes status 1 (or SIGSYS). Leaks are
 *    checked under valgrind instead (tests/valgrind/).
 *  - Symbolizing a report reads debug files and may run llvm-symbolizer:
 *    the allowlist kills the daemon halfway through the report. Reports
 *    print raw addresses; addr2line -e BUILD/bindreqd turns them into
 *    lines.
 *  - The first report lists the loaded modules, which starts with
 *    readlink("/proc/self/exe"), outside the allowlist. Looking one
 *    address up here, before main() and so before the sandbox, makes the
 *    sanitizer runtime read and keep that list.
 * So the sandbox stays exactly what ships. One thing is left: a UBSan
 * report about memory (misaligned or too small an object) then dumps the
 * bytes around it, probing them with pipe2(), and the allowlist kills
 * the daemon there. The report's first line, file:line and what went
 * wrong, is out by then, and the tests fail on the dead daemon.
 * ASAN_OPTIONS in the environment still override the defaults below.
 */
#include <stddef.h>
#include <sanitizer/common_interface_defs.h>

const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0:symbolize=0";
}

__attribute__((constructor)) static void
load_module_list(void)
{
	char name[256];
	void *offset;

	(void)__sanitizer_get_module_and_offset_for_pc(
	    (void *)(size_t)load_module_list, name, sizeof(name), &offset);
}
