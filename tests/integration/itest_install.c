/* SPDX-License-Identifier: ISC */
/*
 * Integration tests: bindreq installs like a system component.
 *
 * `make install DESTDIR=...` lays out every file; the installed pkg-config
 * file builds a client that links the installed libbindreq.so.1 and, as
 * root, binds port 80 through the installed bindreqd; the library exports
 * only bindreq_*; the example policy grants nothing and passes both
 * checks; the units verify and the sysusers.d/tmpfiles.d snippets apply to
 * a scratch root; `make deb` builds the packages, which unpack into a
 * scratch root with the same files at Debian's paths.
 *
 * It drives the real tools (make, cc, pkg-config, nm, readelf,
 * systemd-analyze, dpkg-buildpackage) on the source tree above the build
 * dir, and writes only into harness temp dirs and $(BUILD)/deb. Nothing is
 * installed on the machine itself: no dpkg -i. Parts that need root
 * (trusting a root-owned policy, real users, the packages) skip without
 * it; the packages are skipped too when dpkg-dev or debhelper is missing.
 * Users: bri8d (the daemon), bri8a (granted port 80).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#define DAEMON_USER	"bri8d"
#define USER_A		"bri8a"
#define CMD_MAX		8192

/* Exit statuses of the test client (client_src). */
#define CLIENT_BOUND	0
#define CLIENT_EACCES	2
#define CLIENT_NOBROKER	3
#define CLIENT_OTHER	4

static char srcdir[PATH_MAX];	/* the tree with the Makefile */
static char builddir[PATH_MAX];	/* its build dir (absolute) */
static char work[128];		/* our temp dir */
static char dest[PATH_MAX];	/* work/dest: the DESTDIR of setup */
static char multiarch[64];	/* x86_64-linux-gnu, for the packages */
static int installed;		/* setup's make install succeeded */
static uid_t uid_a;
static gid_t gid_a;

/* Files make install lays out under DESTDIR, with their modes. */
static const struct {
	const char *path;
	mode_t mode;
} layout[] = {
	{ "/usr/local/sbin/bindreqd", 0755 },
	{ "/usr/local/bin/bindreq-policy", 0755 },
	{ "/usr/local/bin/bindreq-run", 0755 },
	{ "/usr/local/lib/libbindreq.so.1", 0644 },
	{ "/usr/local/lib/libbindreq.a", 0644 },
	{ "/usr/local/lib/libbindreq-preload.so", 0644 },
	{ "/usr/local/lib/pkgconfig/bindreq.pc", 0644 },
	{ "/usr/local/include/bindreq.h", 0644 },
	{ "/usr/local/include/bindreq_proto.h", 0644 },
	{ "/usr/local/share/man/man1/bindreq-run.1", 0644 },
	{ "/usr/local/share/man/man3/libbindreq.3", 0644 },
	{ "/usr/local/share/man/man3/bindreq_bind.3", 0644 },
	{ "/usr/local/share/man/man3/bindreq_socket.3", 0644 },
	{ "/usr/local/share/man/man5/bindreq.policy.5", 0644 },
	{ "/usr/local/share/man/man8/bindreqd.8", 0644 },
	{ "/usr/local/share/man/man8/bindreq-policy.8", 0644 },
	{ "/usr/local/share/doc/bindreq/policy.example", 0644 },
	{ "/lib/systemd/system/bindreqd.service", 0644 },
	{ "/lib/systemd/system/bindreqd.socket", 0644 },
	{ "/usr/lib/sysusers.d/bindreq.conf", 0644 },
	{ "/usr/lib/tmpfiles.d/bindreq.conf", 0644 },
	{ "/etc/bindreq/policy", 0644 },
	{ "/etc/bindreq/policy.d", S_IFDIR | 0755 },	/* for drop-ins */
};

/* Binds TCP 127.0.0.1:PORT through the library; says how it went. */
static const char client_src[] =
    "#include <errno.h>\n"
    "#include <netinet/in.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <sys/socket.h>\n"
    "#include <unistd.h>\n"
    "#include <bindreq.h>\n"
    "\n"
    "int\n"
    "main(int argc, char **argv)\n"
    "{\n"
    "\tstruct sockaddr_in a = { .sin_family = AF_INET };\n"
    "\tint fd;\n"
    "\n"
    "\tif (argc != 2)\n"
    "\t\treturn 64;\n"
    "\ta.sin_port = htons((unsigned short)atoi(argv[1]));\n"
    "\ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);\n"
    "\tif ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)\n"
    "\t\treturn 65;\n"
    "\tif (bindreq_bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)\n"
    "\t\treturn 0;\n"
    "\tprintf(\"bindreq_bind: %d\\n\", errno);\n"
    "\tif (errno == EACCES)\n"
    "\t\treturn 2;\n"
    "\treturn errno == BINDREQ_ENOBROKER ? 3 : 4;\n"
    "}\n";

/* ---- running commands ------------------------------------------------- */

/*
 * Run cmd with /bin/sh, output to work/cmd.log (printed if it fails).
 * Make's own variables from an outer `make check` are not passed on: the
 * command lines say what they mean. Returns the exit status, or -1.
 */
static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[CMD_MAX], log[PATH_MAX], *out;
	va_list ap;
	int status, n;
	pid_t pid;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	snprintf(log, sizeof(log), "%s/cmd.log", work);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		unsetenv("MAKEFLAGS");
		unsetenv("MFLAGS");
		unsetenv("MAKELEVEL");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	n = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (n != 0) {
		out = harness_read_file(log);
		fprintf(stderr, "$ %s\n%s[exit %d]\n", cmd, out ? out : "", n);
		free(out);
	}
	return n;
}

/* The output of cmd (stdout only), malloc'd, or NULL if it failed. */
static char *
capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
capture(const char *fmt, ...)
{
	char cmd[CMD_MAX], out[PATH_MAX];
	va_list ap;
	int n;

	snprintf(out, sizeof(out), "%s/capture.out", work);
	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - sizeof(out) - 8)
		return NULL;
	if (run("%s > %s", cmd, out) != 0)
		return NULL;
	return harness_read_file(out);
}

static int
have(const char *prog)
{
	return run("command -v %s", prog) == 0;
}

/* Paths here go into shell commands unquoted: allow only plain ones. */
static int
plain_path(const char *p)
{
	return p[strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789/._-+")] == '\0';
}

/* snprintf that fails the test instead of truncating. */
static void
fmt(char *buf, size_t len, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < len);
}

static void
path_join(char *buf, size_t len, const char *a, const char *b)
{
	fmt(buf, len, "%s%s", a, b);
}

/* Write text to path (harness_write_file() insists on root as owner). */
static int
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* ---- setup ------------------------------------------------------------- */

/* The build dir the harness uses, and the source tree above it. */
static int
find_tree(void)
{
	char bin[PATH_MAX], mk[PATH_MAX + 16];

	if (harness_build_path("bindreqd", bin, sizeof(bin)) < 0 ||
	    realpath(dirname(bin), builddir) == NULL)
		return -1;
	snprintf(srcdir, sizeof(srcdir), "%s", builddir);
	snprintf(srcdir, sizeof(srcdir), "%s", dirname(srcdir));
	snprintf(mk, sizeof(mk), "%s/Makefile", srcdir);
	if (access(mk, R_OK) != 0 && getcwd(srcdir, sizeof(srcdir)) == NULL)
		return -1;
	snprintf(mk, sizeof(mk), "%s/Makefile", srcdir);
	if (access(mk, R_OK) != 0 || !plain_path(srcdir) ||
	    !plain_path(builddir)) {
		fprintf(stderr, "itest_install: no plain source tree found "
		    "(%s, build %s)\n", srcdir, builddir);
		return -1;
	}
	return 0;
}

/* make install into dir, with the build the tests run against. */
static int
make_install(const char *dir, const char *target)
{
	return run("make -C %s BUILD=%s DESTDIR=%s %s", srcdir, builddir, dir,
	    target);
}

static int
setup(void **state)
{
	(void)state;
	if (find_tree() < 0 || harness_tmpdir(work, sizeof(work)) < 0)
		return -1;
	snprintf(dest, sizeof(dest), "%s/dest", work);
	installed = make_install(dest, "install") == 0;
	if (harness_is_root() &&
	    (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_user_add(USER_A, NULL, &uid_a, &gid_a) < 0))
		return -1;
	return 0;
}

/* ---- checks ------------------------------------------------------------ */

static int
has(const char *text, const char *needle)
{
	return text != NULL && strstr(text, needle) != NULL;
}

/* root/path exists as a regular file (a directory if mode has S_IFDIR)
 * with mode; fail the test if not. */
static void
check_file(const char *root, const char *path, mode_t mode)
{
	char full[PATH_MAX];
	struct stat st;

	path_join(full, sizeof(full), root, path);
	if (lstat(full, &st) != 0 || ((mode & S_IFDIR) ? !S_ISDIR(st.st_mode) :
	    !S_ISREG(st.st_mode))) {
		fail_msg("%s: missing or not a %s", full, (mode & S_IFDIR) ?
		    "directory" : "regular file");
		return;
	}
	mode &= 07777;
	if ((st.st_mode & 07777) != mode)
		fail_msg("%s: mode %o, want %o", full,
		    (unsigned)(st.st_mode & 07777), (unsigned)mode);
	if (harness_is_root() && st.st_uid != 0)
		fail_msg("%s: owned by uid %u, want root", full,
		    (unsigned)st.st_uid);
}

static void
check_symlink(const char *root, const char *path, const char *target)
{
	char full[PATH_MAX], got[PATH_MAX];
	ssize_t n;

	path_join(full, sizeof(full), root, path);
	n = readlink(full, got, sizeof(got) - 1);
	if (n < 0)
		fail_msg("%s: not a symbolic link", full);
	got[n] = '\0';
	assert_string_equal(got, target);
}

/* Every defined dynamic symbol of lib is bindreq_* (or its version). */
static void
check_exports(const char *lib)
{
	char *out, *line, *save = NULL, *name, *at;
	int nfuncs = 0;

	out = capture("nm -D --defined-only %s", lib);
	assert_non_null(out);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		name = strrchr(line, ' ');
		assert_non_null(name);
		name++;
		if ((at = strchr(name, '@')) != NULL)
			*at = '\0';
		if (strcmp(name, "LIBBINDREQ_1") == 0)
			continue;	/* the version node, type A */
		if (strncmp(name, "bindreq_", 8) != 0)
			fail_msg("%s exports %s", lib, name);
		nfuncs++;
	}
	free(out);
	assert_int_equal(nfuncs, 2);	/* bindreq_bind, bindreq_socket */
	out = capture("nm -D --defined-only %s | grep -c ' T bindreq_'", lib);
	assert_true(has(out, "2"));
	free(out);
}

static void
check_soname(const char *lib)
{
	char *out = capture("readelf -d %s", lib);

	assert_true(has(out, "Library soname: [libbindreq.so.1]"));
	free(out);
}

/*
 * pkg-config in root (a DESTDIR or an unpacked package), looking in
 * libdir/pkgconfig, gives flags that compile and link a client against the
 * library in libdir. The client is written to work/name.
 */
static void
build_client(const char *root, const char *libdir, const char *name,
    char *bin, size_t len)
{
	char src[PATH_MAX], *flags, *out;
	int san;

	fmt(src, sizeof(src), "%s/client.c", work);
	assert_int_equal(write_text(src, client_src), 0);
	fmt(bin, len, "%s/%s", work, name);
	flags = capture("PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=%s%s/pkgconfig "
	    "PKG_CONFIG_SYSROOT_DIR=%s pkg-config --cflags --libs bindreq",
	    root, libdir, root);
	assert_non_null(flags);
	flags[strcspn(flags, "\n")] = '\0';
	assert_true(has(flags, "-lbindreq"));
	assert_true(has(flags, root));	/* -I and -L point into root */
	/* A library from `make SANITIZE=1` needs the sanitizers' runtime. */
	out = capture("readelf -d %s%s/libbindreq.so.1", root, libdir);
	san = has(out, "libasan");
	free(out);
	assert_int_equal(run("cc -std=c11 -Wall -Wextra -Werror %s -o %s %s %s",
	    san ? "-fsanitize=address,undefined" : "", bin, src, flags), 0);
	free(flags);
	/* It links the shared library, not the static one. */
	out = capture("readelf -d %s", bin);
	assert_true(has(out, "Shared library: [libbindreq.so.1]"));
	free(out);
}

/* ---- make install ------------------------------------------------------ */

static void
test_install_layout(void **state)
{
	char path[PATH_MAX], *text;
	size_t i;

	(void)state;
	assert_true(installed);
	for (i = 0; i < sizeof(layout) / sizeof(layout[0]); i++)
		check_file(dest, layout[i].path, layout[i].mode);
	check_symlink(dest, "/usr/local/lib/libbindreq.so", "libbindreq.so.1");
	/* Nothing installed is writable by group or others. */
	assert_int_equal(run("test -z \"$(find %s -perm /022 ! -type l)\"",
	    dest), 0);
	/* The units name the daemon where it was installed. */
	path_join(path, sizeof(path), dest,
	    "/lib/systemd/system/bindreqd.service");
	text = harness_read_file(path);
	assert_true(has(text, "/usr/local/sbin/bindreqd"));
	assert_false(has(text, "/usr/sbin/bindreqd"));
	free(text);
	/* The pkg-config file names the installed directories. */
	path_join(path, sizeof(path), dest,
	    "/usr/local/lib/pkgconfig/bindreq.pc");
	text = harness_read_file(path);
	assert_true(has(text, "libdir=/usr/local/lib"));
	assert_true(has(text, "includedir=/usr/local/include"));
	free(text);
}

/* A second install keeps an edited policy; uninstall keeps it too. */
static void
test_install_keeps_policy(void **state)
{
	static const char mine[] = "# the administrator's own\n";
	char dir[PATH_MAX], policy[PATH_MAX], path[PATH_MAX], *text;
	size_t i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/keep", work);
	path_join(policy, sizeof(policy), dir, "/etc/bindreq/policy");
	assert_int_equal(make_install(dir, "install"), 0);
	assert_int_equal(write_text(policy, mine), 0);
	assert_int_equal(make_install(dir, "install"), 0);
	text = harness_read_file(policy);
	assert_non_null(text);
	assert_string_equal(text, mine);
	free(text);

	assert_int_equal(make_install(dir, "uninstall"), 0);
	text = harness_read_file(policy);
	assert_non_null(text);
	assert_string_equal(text, mine);
	free(text);
	for (i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		if (strcmp(layout[i].path, "/etc/bindreq/policy") == 0)
			continue;
		path_join(path, sizeof(path), dir, layout[i].path);
		if (access(path, F_OK) == 0)
			fail_msg("%s left after make uninstall", path);
	}
	path_join(path, sizeof(path), dir, "/usr/local/lib/libbindreq.so");
	assert_int_not_equal(access(path, F_OK), 0);

	/* An untouched example policy goes with the rest. */
	assert_int_equal(unlink(policy), 0);
	assert_int_equal(make_install(dir, "install"), 0);
	assert_int_equal(make_install(dir, "uninstall"), 0);
	assert_int_not_equal(access(policy, F_OK), 0);
}

static void
test_library_exports(void **state)
{
	char lib[PATH_MAX], *out;

	(void)state;
	assert_true(installed);
	path_join(lib, sizeof(lib), dest, "/usr/local/lib/libbindreq.so.1");
	check_exports(lib);
	check_soname(lib);
	/* The static library has the same API. */
	out = capture("nm --defined-only %s/usr/local/lib/libbindreq.a", dest);
	assert_true(has(out, " T bindreq_bind"));
	assert_true(has(out, " T bindreq_socket"));
	free(out);
}

struct exec_args {
	char *const *argv;
	char *const *envp;
};

static int
exec_fn(void *arg)
{
	const struct exec_args *e = arg;

	execve(e->argv[0], e->argv, e->envp);
	return 127;
}

/*
 * Run argv (as bri8a when root) with only LD_LIBRARY_PATH=libdir,
 * BINDREQ_SOCKET=sock and a PATH in its environment. Returns its exit
 * status.
 */
static int
run_as_a(char *const argv[], const char *libdir, const char *sock)
{
	char env_lib[PATH_MAX + 32], env_sock[PATH_MAX + 32];
	char env_path[] = "PATH=/usr/bin:/bin";
	char *const envp[] = { env_lib, env_sock, env_path, NULL };
	struct exec_args e = { argv, envp };

	fmt(env_lib, sizeof(env_lib), "LD_LIBRARY_PATH=%s", libdir);
	fmt(env_sock, sizeof(env_sock), "BINDREQ_SOCKET=%s", sock);
	if (!harness_is_root())
		return run("env -i %s %s %s %s %s", env_lib, env_sock, env_path,
		    argv[0], argv[1]);	/* the client: two arguments */
	return harness_run_as(uid_a, gid_a, exec_fn, &e);
}

/* Run the test client on port with the library in libdir. */
static int
run_client(const char *bin, const char *port, const char *libdir,
    const char *sock)
{
	char *const argv[] = { (char *)bin, (char *)port, NULL };

	return run_as_a(argv, libdir, sock);
}

static void
test_pkgconfig_client(void **state)
{
	struct harness_daemon d;
	char bin[PATH_MAX], libdir[PATH_MAX], nosock[PATH_MAX];

	(void)state;
	assert_true(installed);
	build_client(dest, "/usr/local/lib", "client", bin, sizeof(bin));
	path_join(libdir, sizeof(libdir), dest, "/usr/local/lib");
	snprintf(nosock, sizeof(nosock), "%s/no-such.sock", work);
	assert_int_equal(run_client(bin, "80", libdir, nosock),
	    CLIENT_NOBROKER);
	if (!harness_is_root()) {
		print_message("[ SKIP     ] the round trip through a real "
		    "bindreqd needs root\n");
		return;
	}
	/* The installed client, library and daemon, end to end. */
	assert_int_equal(daemon_init(&d), 0);
	path_join(d.bin, sizeof(d.bin), dest, "/usr/local/sbin/bindreqd");
	assert_int_equal(daemon_start(&d, "allow user " USER_A " tcp 80\n",
	    DAEMON_USER, NULL), 0);
	assert_int_equal(run_client(bin, "80", libdir, d.socket),
	    CLIENT_BOUND);
	assert_int_equal(run_client(bin, "81", libdir, d.socket),
	    CLIENT_EACCES);
	assert_true(daemon_log_wait(&d, "decision=allow", 2000));
	assert_true(daemon_log_wait(&d, "decision=deny", 2000));
	assert_int_equal(daemon_stop(&d), 0);
}

/* The installed example passes bindreqd --check and bindreq-policy check. */
static void
test_example_policy(void **state)
{
	char *out;

	(void)state;
	assert_true(installed);
	if (!harness_is_root()) {
		print_message("[ SKIP     ] the policy is trusted only when "
		    "root owns it: needs root\n");
		skip();
	}
	out = capture("%s/usr/local/sbin/bindreqd --check --policy "
	    "%s/etc/bindreq/policy", dest, dest);
	assert_true(has(out, ": ok, 0 rules, sha256 "));
	free(out);
	out = capture("%s/usr/local/bin/bindreq-policy -p "
	    "%s/etc/bindreq/policy check --strict", dest, dest);
	assert_true(has(out, ": ok, 0 rules, 0 warnings"));
	free(out);
	/* Commented examples only: no line starts a rule. */
	assert_int_equal(run("! grep -v '^#' %s/etc/bindreq/policy | "
	    "grep -q '[^[:space:]]'", dest), 0);
}

/* ---- systemd ----------------------------------------------------------- */

static void
test_units_verify(void **state)
{
	char root[PATH_MAX], *out;

	(void)state;
	assert_true(installed);
	if (!harness_is_root() || !have("systemd-analyze") ||
	    !have("systemd-sysusers")) {
		print_message("[ SKIP     ] needs root and systemd's tools\n");
		skip();
	}
	/*
	 * The units name /usr/local/sbin/bindreqd, which verify wants to
	 * see: in a mount namespace of its own, /usr/local is DESTDIR's.
	 */
	assert_int_equal(run("unshare --mount sh -c 'mount --bind "
	    "%s/usr/local /usr/local && systemd-analyze verify "
	    "%s/lib/systemd/system/bindreqd.socket "
	    "%s/lib/systemd/system/bindreqd.service'", dest, dest, dest), 0);
	/* The sysusers.d and tmpfiles.d snippets apply to a scratch root. */
	snprintf(root, sizeof(root), "%s/sysroot", work);
	assert_int_equal(run("mkdir -p %s/etc && systemd-sysusers --root=%s "
	    "%s/usr/lib/sysusers.d/bindreq.conf", root, root, dest), 0);
	out = capture("grep '^bindreq:' %s/etc/passwd", root);
	assert_true(has(out, "bindreq:x:"));
	assert_true(has(out, "nologin"));
	free(out);
	assert_int_equal(run("systemd-tmpfiles --root=%s --create "
	    "%s/usr/lib/tmpfiles.d/bindreq.conf", root, dest), 0);
}

/* ---- the Debian packages ----------------------------------------------- */

/* The packages make deb builds, besides their -dbgsym companions. */
static const char *const packages[] = { "bindreq", "libbindreq1",
    "libbindreq-dev" };

/* Unpack each package into root, as dpkg would lay it out. */
static void
unpack_debs(const char *root)
{
	size_t i;

	for (i = 0; i < sizeof(packages) / sizeof(packages[0]); i++)
		assert_int_equal(run("mkdir -p %s && dpkg -x %s/deb/%s_*.deb %s",
		    root, builddir, packages[i], root), 0);
}

static void
check_package_files(const char *root)
{
	char p[PATH_MAX];

	check_file(root, "/usr/sbin/bindreqd", 0755);
	check_file(root, "/usr/bin/bindreq-policy", 0755);
	check_file(root, "/usr/bin/bindreq-run", 0755);
	fmt(p, sizeof(p), "/usr/lib/%s/libbindreq.so.1", multiarch);
	check_file(root, p, 0644);
	fmt(p, sizeof(p), "%s/usr/lib/%s/libbindreq.so.1", root,
	    multiarch);
	check_soname(p);
	check_exports(p);
	fmt(p, sizeof(p), "/usr/lib/%s/libbindreq.a", multiarch);
	check_file(root, p, 0644);
	fmt(p, sizeof(p), "/usr/lib/%s/bindreq/libbindreq-preload.so",
	    multiarch);
	check_file(root, p, 0644);
	fmt(p, sizeof(p), "/usr/lib/%s/libbindreq.so", multiarch);
	check_symlink(root, p, "libbindreq.so.1");
	check_file(root, "/usr/include/bindreq.h", 0644);
	check_file(root, "/lib/systemd/system/bindreqd.service", 0644);
	check_file(root, "/lib/systemd/system/bindreqd.socket", 0644);
	check_file(root, "/usr/lib/sysusers.d/bindreq.conf", 0644);
	check_file(root, "/usr/lib/tmpfiles.d/bindreq.conf", 0644);
	check_file(root, "/etc/bindreq/policy", 0644);
	check_file(root, "/etc/bindreq/policy.d", S_IFDIR | 0755);
	check_file(root, "/usr/share/man/man8/bindreqd.8.gz", 0644);
	check_file(root, "/usr/share/man/man8/bindreq-policy.8.gz", 0644);
	check_file(root, "/usr/share/man/man5/bindreq.policy.5.gz", 0644);
	check_file(root, "/usr/share/man/man1/bindreq-run.1.gz", 0644);
	check_file(root, "/usr/share/man/man3/libbindreq.3.gz", 0644);
	check_file(root, "/usr/share/doc/bindreq/copyright", 0644);
}

/*
 * The packaged daemon serves the client built against the packaged
 * library, and the packaged bindreq-run --listen.
 */
static void
run_packaged(const char *root, const char *client)
{
	struct harness_daemon d;
	char libdir[PATH_MAX], run_bin[PATH_MAX];
	char *line;
	char listen[] = "--listen", spec[] = "tcp:127.0.0.1:80";
	char dashes[] = "--", cmd[] = "/bin/true";
	char *const argv[] = { run_bin, listen, spec, dashes, cmd, NULL };

	fmt(libdir, sizeof(libdir), "%s/usr/lib/%s", root, multiarch);
	fmt(run_bin, sizeof(run_bin), "%s/usr/bin/bindreq-run", root);
	assert_int_equal(daemon_init(&d), 0);
	path_join(d.bin, sizeof(d.bin), root, "/usr/sbin/bindreqd");
	assert_int_equal(daemon_start(&d, "allow user " USER_A " tcp 80\n",
	    DAEMON_USER, NULL), 0);
	assert_int_equal(run_client(client, "80", libdir, d.socket),
	    CLIENT_BOUND);
	assert_int_equal(run_client(client, "81", libdir, d.socket),
	    CLIENT_EACCES);
	assert_int_equal(run_as_a(argv, libdir, d.socket), 0);
	line = daemon_log_line(&d, 2000, "decision=deny", "port=81", NULL);
	assert_non_null(line);
	free(line);
	assert_int_equal(daemon_stop(&d), 0);
}

static void
test_deb(void **state)
{
	char root[PATH_MAX], p[PATH_MAX], bin[PATH_MAX], *out;

	(void)state;
	if (!harness_is_root()) {
		print_message("[ SKIP     ] the packages are checked as root "
		    "(root-owned files)\n");
		skip();
	}
	if (!have("dpkg-buildpackage") || !have("dh") ||
	    !have("dpkg-architecture")) {
		print_message("[ SKIP     ] dpkg-dev or debhelper not "
		    "installed (scripts/install-deps.sh installs them)\n");
		skip();
	}
	out = capture("dpkg-architecture -qDEB_HOST_MULTIARCH");
	assert_non_null(out);
	snprintf(multiarch, sizeof(multiarch), "%.*s",
	    (int)strcspn(out, "\n"), out);
	free(out);

	assert_int_equal(run("make -C %s BUILD=%s deb", srcdir, builddir), 0);
	if (have("lintian"))
		assert_int_equal(run("lintian --fail-on error,warning "
		    "%s/deb/bindreq_*.changes", builddir), 0);
	snprintf(root, sizeof(root), "%s/debroot", work);
	unpack_debs(root);
	check_package_files(root);

	/* The packaged example passes the packaged daemon's check. */
	out = capture("%s/usr/sbin/bindreqd --check --policy "
	    "%s/etc/bindreq/policy", root, root);
	assert_true(has(out, ": ok, 0 rules, sha256 "));
	free(out);
	/* bindreq-run looks for the shim where the package put it. */
	snprintf(p, sizeof(p), "/usr/lib/%s/bindreq/libbindreq-preload.so",
	    multiarch);
	assert_int_equal(run("grep -qF %s %s/usr/bin/bindreq-run", p, root),
	    0);
	/* The policy is a conffile; postinst creates the user. */
	out = capture("dpkg-deb -I %s/deb/bindreq_*.deb conffiles", builddir);
	assert_true(has(out, "/etc/bindreq/policy"));
	free(out);
	out = capture("dpkg-deb -I %s/deb/bindreq_*.deb postinst", builddir);
	assert_true(has(out, "systemd-sysusers"));
	assert_true(has(out, "bindreqd.service"));
	free(out);
	/* The -dev package builds a client with its own pkg-config file. */
	fmt(p, sizeof(p), "/usr/lib/%s", multiarch);
	build_client(root, p, "client-deb", bin, sizeof(bin));
	run_packaged(root, bin);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_layout),
		cmocka_unit_test(test_install_keeps_policy),
		cmocka_unit_test(test_library_exports),
		cmocka_unit_test(test_pkgconfig_client),
		cmocka_unit_test(test_example_policy),
		cmocka_unit_test(test_units_verify),
		cmocka_unit_test(test_deb),
	};

	return cmocka_run_group_tests(tests, setup, harness_group_teardown);
}
