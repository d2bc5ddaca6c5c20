/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's privilege drop (DESIGN.md 9, STYLE.md 2).
 *
 * What it trusts: the kernel's view of our credentials (getresuid,
 * getresgid, getgroups, capget through libcap, PR_GET_SECUREBITS) and the
 * password database for the --user name, read once, before the sandbox.
 * What it does not trust: that a call which returned 0 did what we meant.
 * After the drop every credential is read back and compared with the one
 * expected; any difference is fatal, because a daemon that believes it is
 * confined but is not is worse than one that does not start.
 *
 * Two ways in:
 *  - started as root: switch to --user (no supplementary groups), keep
 *    exactly CAP_NET_BIND_SERVICE, bounding set reduced to it, securebits
 *    set and locked so that nothing can give root's powers back;
 *  - started as a non-root user that already holds CAP_NET_BIND_SERVICE
 *    (systemd's User= with AmbientCapabilities=): there is no one to switch
 *    to; keep exactly CAP_NET_BIND_SERVICE and clear the rest. Dropping the
 *    bounding set and setting securebits need CAP_SETPCAP, which such a
 *    daemon normally lacks: then the service manager's CapabilityBoundingSet=
 *    and NoNewPrivileges= are what bound it, and they are only logged here.
 *    Neither matters once the sandbox forbids execve and set*id: the
 *    bounding set and the root fix-ups only act at execve and setuid.
 */
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <linux/securebits.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "kernel.h"
#include "log.h"
#include "privdrop.h"

/*
 * Root has no special powers any more (NOROOT), a uid change adjusts no
 * capability (NO_SETUID_FIXUP), capabilities are not kept over a uid change
 * (KEEP_CAPS clear and locked), and the ambient set cannot be raised; each
 * bit locked so that even CAP_SETPCAP cannot undo it.
 */
#define PRIVDROP_SECBITS \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | \
	 SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED | \
	 SECBIT_KEEP_CAPS_LOCKED | \
	 SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/*
 * make SANITIZE=1 builds: LeakSanitizer checks at exit by stopping the
 * world, with clone and ptrace, which the sandbox forbids, RLIMIT_NPROC 0
 * prevents and a process that changed uid (not dumpable) cannot do. Such a
 * build checks for leaks once instead, in privdrop_rlimits(), dumpable for
 * that moment only; that also turns the check at exit off. Never in a
 * normal build.
 */
#ifdef BROKER_SANITIZER
void	__lsan_do_leak_check(void);

static void
sanitizer_leak_check(void)
{
	int	 dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	__lsan_do_leak_check();
	if (dumpable >= 0)
		(void)prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
}
#endif

/* What the daemon holds once the drop is done. */
#define PRIVDROP_CAPS_TEXT	"cap_net_bind_service=ep"

struct target {
	uid_t	uid;
	gid_t	gid;
};

/* The expectations verify() checks; what the start-up path could do. */
struct expect {
	uid_t	uid;
	gid_t	gid;
	bool	bounding;	/* bounding set is only NET_BIND_SERVICE */
	bool	secbits;	/* securebits are exactly PRIVDROP_SECBITS */
	bool	nogroups;	/* no supplementary groups at all */
};

static void	lookup_user(const char *, struct target *);
static void	set_caps(const cap_value_t *, int);
static void	drop_bounding(void);
static void	lock_secbits(void);
static bool	has_cap(cap_value_t, cap_flag_t);
static void	require_power(const char *);
static void	drop_from_root(const char *, struct expect *);
static void	drop_from_caps(const char *, struct expect *);
static void	report_unlocked(void);
static void	verify(const struct expect *);
static void	verify_ids(const struct expect *);
static void	verify_groups(const struct expect *);
static void	verify_caps(void);
static void	verify_bounding(void);
static void	verify_ambient(void);

/* Root, or CAP_NET_BIND_SERVICE permitted: anything less cannot serve. */
static void
require_power(const char *user)
{
	if (geteuid() == 0 || has_cap(CAP_NET_BIND_SERVICE, CAP_PERMITTED))
		return;
	fatalx("privdrop: bindreqd needs to be started as root (it "
	    "then switches to --user %s) or as a user holding "
	    "CAP_NET_BIND_SERVICE in its permitted set (e.g. systemd "
	    "User=%s with AmbientCapabilities=CAP_NET_BIND_SERVICE); "
	    "it runs as uid %lu without it",
	    user != NULL ? user : "?", user != NULL ? user : "bindreq",
	    (unsigned long)geteuid());
}

void
privdrop_preflight(const char *user)
{
	struct target t;

	struct rlimit	 nofile;

	require_power(user);
	if (geteuid() != 0)
		return;
	lookup_user(user, &t);
	/* Root may raise the hard limit; after the drop it can only be
	 * lowered (privdrop_rlimits()). */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_max != RLIM_INFINITY && nofile.rlim_max < LIMIT_NOFILE) {
		nofile.rlim_max = LIMIT_NOFILE;
		if (nofile.rlim_cur > nofile.rlim_max)
			nofile.rlim_cur = nofile.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	}
}

void
privdrop(const char *user)
{
	struct expect	 want;

	memset(&want, 0, sizeof(want));
	if (geteuid() == 0)
		drop_from_root(user, &want);
	else
		drop_from_caps(user, &want);
	verify(&want);
	log_info("running as uid %lu gid %lu with %s only",
	    (unsigned long)want.uid, (unsigned long)want.gid,
	    PRIVDROP_CAPS_TEXT);
}

/*
 * The password database, read with the reentrant call so that a buffer
 * too small is an error we can grow out of rather than a silent
 * truncation. Returns 0 and fills *t, ENOENT for no such user, or an
 * errno.
 */
static int
find_user(const char *user, struct target *t)
{
	struct passwd	 pw, *res = NULL;
	char		*buf = NULL, *nbuf;
	size_t		 len = 1024;
	int		 error;

	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL) {
			free(buf);
			return ENOMEM;
		}
		buf = nbuf;
		error = getpwnam_r(user, &pw, buf, len, &res);
		if (error != ERANGE || len >= 1024 * 1024)
			break;
		len *= 2;
	}
	if (error == 0 && res != NULL) {
		t->uid = pw.pw_uid;
		t->gid = pw.pw_gid;
	}
	free(buf);
	return error != 0 ? error : res == NULL ? ENOENT : 0;
}

static void
lookup_user(const char *user, struct target *t)
{
	int	 error;

	if (user == NULL || *user == '\0')
		fatalx("privdrop: no user to run as (--user)");
	if ((error = find_user(user, t)) == ENOENT)
		fatalx("privdrop: no such user %s (create it, e.g. with "
		    "systemd-sysusers, or pass --user)", user);
	if (error != 0) {
		errno = error;
		fatal("privdrop: getpwnam_r %s", user);
	}
	/* Running as root, or in root's group, would be no drop at all. */
	if (t->uid == 0)
		fatalx("privdrop: user %s has uid 0; run as an unprivileged "
		    "user", user);
	if (t->gid == 0)
		fatalx("privdrop: user %s has gid 0; give it a group of its "
		    "own", user);
}

/* Permitted = effective = exactly caps; inheritable empty. */
static void
set_caps(const cap_value_t *caps, int ncaps)
{
	cap_t	 c;

	if ((c = cap_init()) == NULL)
		fatal("privdrop: cap_init");
	if (cap_set_flag(c, CAP_PERMITTED, ncaps, caps, CAP_SET) == -1 ||
	    cap_set_flag(c, CAP_EFFECTIVE, ncaps, caps, CAP_SET) == -1)
		fatal("privdrop: cap_set_flag");
	if (cap_set_proc(c) == -1)
		fatal("privdrop: cap_set_proc");
	cap_free(c);
}

/*
 * The bounding set limits what an execve could ever give back. Every
 * capability the running kernel knows, not only those the headers name.
 */
static void
drop_bounding(void)
{
	cap_value_t	 cap, max = cap_max_bits();

	for (cap = 0; cap < max; cap++) {
		if (cap == CAP_NET_BIND_SERVICE)
			continue;
		if (cap_drop_bound(cap) == -1)
			fatal("privdrop: cap_drop_bound(%d)", (int)cap);
	}
}

/* Needs CAP_SETPCAP in the effective set. */
static void
lock_secbits(void)
{
	if ((unsigned)cap_get_secbits() == PRIVDROP_SECBITS)
		return;
	if (cap_set_secbits(PRIVDROP_SECBITS) == -1)
		fatal("privdrop: cannot set securebits 0x%x (now 0x%x)",
		    (unsigned)PRIVDROP_SECBITS, (unsigned)cap_get_secbits());
}

static bool
has_cap(cap_value_t cap, cap_flag_t set)
{
	cap_t			 c;
	cap_flag_value_t	 v = CAP_CLEAR;

	if ((c = cap_get_proc()) == NULL)
		fatal("privdrop: cap_get_proc");
	if (cap_get_flag(c, cap, set, &v) == -1)
		fatal("privdrop: cap_get_flag");
	cap_free(c);
	return v == CAP_SET;
}

/*
 * The order is the one measured to work (DESIGN.md, "Kernel facts"):
 * KEEPCAPS so that setresuid leaves the permitted set alone; the bounding
 * set while we still have CAP_SETPCAP; the ids; then CAP_SETPCAP is kept
 * just long enough to lock the securebits, and dropped.
 */
static void
drop_from_root(const char *user, struct expect *want)
{
	static const cap_value_t	 with_setpcap[] = {
		CAP_NET_BIND_SERVICE, CAP_SETPCAP
	};
	static const cap_value_t	 bind_only[] = { CAP_NET_BIND_SERVICE };
	struct target			 t;

	lookup_user(user, &t);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		fatal("privdrop: PR_SET_KEEPCAPS (securebits 0x%x locked by "
		    "whoever started us?)", (unsigned)cap_get_secbits());
	drop_bounding();
	if (setgroups(0, NULL) == -1)
		fatal("privdrop: setgroups");
	if (setresgid(t.gid, t.gid, t.gid) == -1)
		fatal("privdrop: setresgid %lu", (unsigned long)t.gid);
	if (setresuid(t.uid, t.uid, t.uid) == -1)
		fatal("privdrop: setresuid %lu", (unsigned long)t.uid);
	set_caps(with_setpcap, 2);
	lock_secbits();
	set_caps(bind_only, 1);
	if (cap_reset_ambient() == -1)
		fatal("privdrop: cap_reset_ambient");

	want->uid = t.uid;
	want->gid = t.gid;
	want->bounding = true;
	want->secbits = true;
	want->nogroups = true;
}

/*
 * Not root: a service manager gave us the capability. There is no user to
 * switch to; --user is only compared, since a mismatch is a configuration
 * slip worth a line in the log but not a hole. What CAP_SETPCAP allows
 * (bounding set, securebits) is done when we happen to have it.
 */
static void
drop_from_caps(const char *user, struct expect *want)
{
	static const cap_value_t	 with_setpcap[] = {
		CAP_NET_BIND_SERVICE, CAP_SETPCAP
	};
	static const cap_value_t	 bind_only[] = { CAP_NET_BIND_SERVICE };
	struct target			 named;
	bool				 setpcap;

	require_power(user);

	want->uid = geteuid();
	want->gid = getegid();
	if (user != NULL && find_user(user, &named) == 0 &&
	    named.uid != want->uid)
		log_warnx("privdrop: not root, staying uid %lu rather than "
		    "switching to --user %s (uid %lu)",
		    (unsigned long)want->uid, user,
		    (unsigned long)named.uid);

	setpcap = has_cap(CAP_SETPCAP, CAP_PERMITTED);
	if (setpcap) {
		drop_bounding();
		set_caps(with_setpcap, 2);
		lock_secbits();
	} else
		report_unlocked();
	set_caps(bind_only, 1);
	if (cap_reset_ambient() == -1)
		fatal("privdrop: cap_reset_ambient");

	want->bounding = setpcap;
	want->secbits = setpcap;
	/*
	 * A service manager's User= calls initgroups(), which lists the
	 * primary group again; without CAP_SETGID we cannot clear it, and it
	 * gives nothing the gid does not. verify_groups() allows only that.
	 */
	want->nogroups = false;
}

/*
 * Without CAP_SETPCAP neither the bounding set nor the securebits can be
 * changed. Say what they are, loudly if the bounding set is wider than the
 * unit should have made it.
 */
static void
report_unlocked(void)
{
	cap_value_t	 cap, max = cap_max_bits();
	int		 extra = 0;

	for (cap = 0; cap < max; cap++)
		if (cap != CAP_NET_BIND_SERVICE && cap_get_bound(cap) == 1)
			extra++;
	if (extra > 0)
		log_warnx("privdrop: no CAP_SETPCAP to drop %d capabilities "
		    "from the bounding set; set CapabilityBoundingSet="
		    "CAP_NET_BIND_SERVICE in the service (the sandbox forbids "
		    "execve, the only use of the bounding set)", extra);
	/* The usual case under systemd, and nothing an admin need act on:
	 * debug, not a line at every start (bindreqd(8) says why). */
	log_debug("privdrop: no CAP_SETPCAP: securebits 0x%x left as the "
	    "service manager set them", (unsigned)cap_get_secbits());
}

static void
verify(const struct expect *want)
{
	unsigned	 bits;

	verify_ids(want);
	verify_groups(want);
	verify_caps();
	verify_ambient();
	if (want->bounding)
		verify_bounding();
	if (want->secbits) {
		bits = (unsigned)cap_get_secbits();
		if (bits != PRIVDROP_SECBITS)
			fatalx("privdrop: securebits are 0x%x, want 0x%x",
			    bits, (unsigned)PRIVDROP_SECBITS);
	}
}

static void
verify_ids(const struct expect *want)
{
	uid_t	 ruid, euid, suid;
	gid_t	 rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) == -1)
		fatal("privdrop: getresuid");
	if (getresgid(&rgid, &egid, &sgid) == -1)
		fatal("privdrop: getresgid");
	if (ruid != want->uid || euid != want->uid || suid != want->uid)
		fatalx("privdrop: uids are %lu/%lu/%lu, want %lu",
		    (unsigned long)ruid, (unsigned long)euid,
		    (unsigned long)suid, (unsigned long)want->uid);
	if (rgid != want->gid || egid != want->gid || sgid != want->gid)
		fatalx("privdrop: gids are %lu/%lu/%lu, want %lu",
		    (unsigned long)rgid, (unsigned long)egid,
		    (unsigned long)sgid, (unsigned long)want->gid);
	if (want->uid == 0 || want->gid == 0)
		fatalx("privdrop: still uid %lu gid %lu",
		    (unsigned long)want->uid, (unsigned long)want->gid);
}

static void
verify_groups(const struct expect *want)
{
	gid_t	*groups;
	int	 i, n;

	if ((n = getgroups(0, NULL)) == -1)
		fatal("privdrop: getgroups");
	if (n == 0)
		return;
	if (want->nogroups)
		fatalx("privdrop: %d supplementary groups left", n);
	if ((groups = calloc(n, sizeof(*groups))) == NULL)
		fatal("privdrop: calloc");
	if ((n = getgroups(n, groups)) == -1)
		fatal("privdrop: getgroups");
	for (i = 0; i < n; i++)
		if (groups[i] != want->gid)
			fatalx("privdrop: supplementary group %lu left; "
			    "the service user must have no other group",
			    (unsigned long)groups[i]);
	free(groups);
}

/* Permitted and effective exactly {NET_BIND_SERVICE}, inheritable empty. */
static void
verify_caps(void)
{
	cap_t	 have, want;
	char	*text;

	if ((have = cap_get_proc()) == NULL)
		fatal("privdrop: cap_get_proc");
	if ((want = cap_from_text(PRIVDROP_CAPS_TEXT)) == NULL)
		fatal("privdrop: cap_from_text");
	if (cap_compare(have, want) != 0) {
		text = cap_to_text(have, NULL);
		fatalx("privdrop: capabilities are \"%s\", want \"%s\"",
		    text != NULL ? text : "?", PRIVDROP_CAPS_TEXT);
	}
	cap_free(want);
	cap_free(have);
}

static void
verify_bounding(void)
{
	cap_value_t	 cap, max = cap_max_bits();
	int		 v;

	for (cap = 0; cap < max; cap++) {
		if ((v = cap_get_bound(cap)) == -1)
			fatal("privdrop: cap_get_bound(%d)", (int)cap);
		if (v == 1 && cap != CAP_NET_BIND_SERVICE)
			fatalx("privdrop: capability %d still in the bounding "
			    "set", (int)cap);
	}
}

static void
verify_ambient(void)
{
	cap_value_t	 cap, max = cap_max_bits();
	int		 v;

	for (cap = 0; cap < max; cap++) {
		if ((v = cap_get_ambient(cap)) == -1)
			fatal("privdrop: cap_get_ambient(%d)", (int)cap);
		if (v == 1)
			fatalx("privdrop: capability %d still ambient",
			    (int)cap);
	}
}

/*
 * After the drop, so that they bind the service user. RLIMIT_NPROC 0: the
 * daemon never forks (the sandbox forbids it too). RLIMIT_FSIZE is left
 * alone on purpose: the log file is appended to through a descriptor
 * opened before the drop, and reaching FSIZE would kill us with SIGXFSZ.
 * RLIMIT_NOFILE can only be lowered without CAP_SYS_RESOURCE: when the
 * hard limit is already below LIMIT_NOFILE we keep it and say so (the
 * server refuses connections past EMFILE).
 */
void
privdrop_rlimits(void)
{
	struct rlimit	 zero = { 0, 0 }, nofile;

#ifdef BROKER_SANITIZER
	sanitizer_leak_check();
#endif
	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		fatal("privdrop: setrlimit RLIMIT_CORE");
	if (setrlimit(RLIMIT_NPROC, &zero) == -1)
		fatal("privdrop: setrlimit RLIMIT_NPROC");
	if (getrlimit(RLIMIT_NOFILE, &nofile) == -1)
		fatal("privdrop: getrlimit RLIMIT_NOFILE");
	if (nofile.rlim_max != RLIM_INFINITY &&
	    nofile.rlim_max < LIMIT_NOFILE)
		log_warnx("privdrop: open files limited to %llu, below %d",
		    (unsigned long long)nofile.rlim_max, LIMIT_NOFILE);
	else
		nofile.rlim_max = LIMIT_NOFILE;
	nofile.rlim_cur = nofile.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &nofile) == -1)
		fatal("privdrop: setrlimit RLIMIT_NOFILE");
}
