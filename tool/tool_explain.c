/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy explain: the decision bindreqd would take for a user's
 * request, by the same policy_decide() the daemon calls, with the rule
 * that grants it or the reason nothing does.
 *
 * bindreqd learns the caller's groups from SO_PEERGROUPS, which are the
 * groups the process runs with; here they come from the group database
 * (getgrouplist), which is what a freshly logged-in process of that user
 * would have. A service started with other groups may be judged
 * differently; explain says which groups it assumed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tool.h"

/* Rules the deny message lists as granting the port to others. */
#define OTHERS_MAX	5

/* gid_t is a uint32_t on Linux: getgrouplist() fills id->groups. */
_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");

static int
load_groups(struct tool_identity *id, const struct passwd *pw)
{
	int ng = 16, prev;
	uint32_t *n;

	for (;;) {
		n = realloc(id->groups, (size_t)ng * sizeof(*n));
		if (n == NULL)
			return -1;
		id->groups = n;
		prev = ng;
		if (getgrouplist(pw->pw_name, pw->pw_gid, (gid_t *)n, &ng) != -1)
			break;
		if (ng <= prev)
			ng = prev * 2;
	}
	id->ngroups = (size_t)ng;
	return 0;
}

int
tool_identity_lookup(const char *who, struct tool_identity *id, char *msg,
    size_t msglen)
{
	struct passwd *pw;
	unsigned long v;

	memset(id, 0, sizeof(*id));
	errno = 0;
	pw = getpwnam(who);
	if (pw == NULL && tool_number(who, UINT32_MAX - 1, &v) == 0) {
		errno = 0;
		pw = getpwuid((uid_t)v);
		if (pw == NULL && errno == 0) {
			/* A uid needs no entry, nor has a primary group. */
			id->uid = (uint32_t)v;
			id->gid = UINT32_MAX;
			return 0;
		}
	}
	if (pw == NULL) {
		snprintf(msg, msglen, "%s: %s", who, errno != 0 &&
		    errno != ENOENT ? strerror(errno) : "no such user");
		return -1;
	}
	id->uid = (uint32_t)pw->pw_uid;
	id->gid = (uint32_t)pw->pw_gid;
	id->name = strdup(pw->pw_name);
	if (id->name == NULL || load_groups(id, pw) == -1) {
		tool_identity_free(id);
		snprintf(msg, msglen, "%s: out of memory", who);
		return -1;
	}
	return 0;
}

void
tool_identity_free(struct tool_identity *id)
{
	free(id->name);
	free(id->groups);
	memset(id, 0, sizeof(*id));
}

int
tool_request_parse(const char *proto, const char *addr, const char *port,
    bool v6only, struct policy_query *rq, char *msg, size_t msglen)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(addr);
	unsigned long v;

	memset(rq, 0, sizeof(*rq));
	rq->v6only = v6only;
	if (strcmp(proto, "tcp") == 0)
		rq->proto = POLICY_TCP;
	else if (strcmp(proto, "udp") == 0)
		rq->proto = POLICY_UDP;
	else {
		snprintf(msg, msglen, "unknown protocol '%s' (tcp or udp)",
		    proto);
		return -1;
	}
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if ((size_t)snprintf(buf, sizeof(buf), "%.*s", (int)len, addr) >=
	    sizeof(buf))
		goto badaddr;
	if (inet_pton(AF_INET, buf, rq->addr) == 1)
		rq->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, rq->addr) == 1)
		rq->family = AF_INET6;
	else
		goto badaddr;
	if (tool_number(port, 65535, &v) == -1 || v == 0) {
		snprintf(msg, msglen, "bad port '%s' (1-1023)", port);
		return -1;
	}
	if (v >= 1024) {
		snprintf(msg, msglen, "port %lu needs no grant: bindreqd only "
		    "binds ports 1-1023 (and answers EINVAL for others)", v);
		return -1;
	}
	rq->port = (uint16_t)v;
	return 0;
badaddr:
	snprintf(msg, msglen, "bad address '%s': name the address the program "
	    "binds, e.g. 127.0.0.1, ::1, [::1], 0.0.0.0 or ::", addr);
	return -1;
}

/* Saying why */

static void
print_rule(FILE *out, const struct policy_rule *r)
{
	fprintf(out, "%s:%u (", r->file, r->line);
	tool_rule_text(out, r);
	fputc(')', out);
}

static void
print_caller(FILE *out, const struct tool_identity *id)
{
	size_t i;

	fprintf(out, "  caller: ");
	if (id->name != NULL) {
		fprintf(out, "user ");
		tool_put_safe(out, id->name);
		fprintf(out, " (uid %u), primary gid %u", (unsigned)id->uid,
		    (unsigned)id->gid);
	} else
		fprintf(out, "uid %u (no passwd entry: no groups, only uid "
		    "rules can match)", (unsigned)id->uid);
	for (i = 0; i < id->ngroups; i++)
		fprintf(out, "%s%u", i == 0 ? ", groups " : " ",
		    (unsigned)id->groups[i]);
	if (id->unit != NULL) {
		fprintf(out, ", in system service ");
		tool_put_safe(out, id->unit);
	}
	fputc('\n', out);
}

/* Which of the caller's identities the rule named. */
static void
print_match(FILE *out, const struct policy_rule *r,
    const struct tool_identity *id)
{
	if (r->subject == POLICY_SUBJECT_USER ||
	    r->subject == POLICY_SUBJECT_UID)
		fprintf(out, "  matched: the caller's uid %u (",
		    (unsigned)id->uid);
	else if (r->subject == POLICY_SUBJECT_UNIT)
		fprintf(out, "  matched: the caller's system service (");
	else
		fprintf(out, "  matched: the caller's %s group, gid %u (",
		    r->id == id->gid ? "primary" : "supplementary",
		    (unsigned)r->id);
	tool_rule_subject(out, r);
	fprintf(out, ")\n");
}

/*
 * After a denial, the rules that grant this port and protocol to anyone:
 * usually the administrator's next question.
 */
static void
print_others(FILE *out, const struct policy *pol,
    const struct policy_query *rq)
{
	const char *proto = rq->proto == POLICY_TCP ? "tcp" : "udp";
	const struct policy_rule *r;
	size_t i, shown = 0;

	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		if (!(r->protos & rq->proto) ||
		    !grant_rule_has_port(r, rq->port))
			continue;
		if (shown++ == 0)
			fprintf(out, "  rules for %s %u:\n", proto, rq->port);
		if (shown > OTHERS_MAX)
			continue;
		fprintf(out, "    ");
		print_rule(out, r);
		fputc('\n', out);
	}
	if (shown > OTHERS_MAX)
		fprintf(out, "    ... and %zu more\n", shown - OTHERS_MAX);
	if (shown == 0)
		fprintf(out, "  no rule grants %s %u to anyone\n", proto,
		    rq->port);
}

int
tool_explain(const struct policy *pol, const struct tool_identity *id,
    const struct policy_query *rq, FILE *out)
{
	struct policy_addr p = { .family = AF_INET6, .prefixlen = 128 };
	struct policy_query q = *rq;
	char a6[INET6_ADDRSTRLEN];
	struct policy_decision d;

	q.uid = id->uid;
	q.gid = id->gid;
	q.groups = id->groups;
	q.ngroups = id->ngroups;
	q.unit = policy_unit_id(pol, id->unit);
	if (policy_decide(pol, &q, &d)) {
		fprintf(out, "allow: granted by ");
		print_rule(out, d.rule);
		if (d.rule4 != NULL) {
			fprintf(out, " and, for the IPv4 side of a dual-stack "
			    "[::] socket, ");
			print_rule(out, d.rule4);
		}
		fputc('\n', out);
		print_caller(out, id);
		print_match(out, d.rule, id);
		if (d.rule4 != NULL && d.rule4 != d.rule)
			print_match(out, d.rule4, id);
	} else {
		fprintf(out, "deny: %s\n", d.reason);
		print_caller(out, id);
		print_others(out, pol, rq);
	}
	memcpy(p.addr, rq->addr, sizeof(p.addr));
	if (rq->family == AF_INET6 && grant_prefix_unmap(&p)) {
		fprintf(out, "  note: %s is judged as the IPv4 address ",
		    inet_ntop(AF_INET6, rq->addr, a6, sizeof(a6)));
		grant_prefix_format(out, &p);
		fputc('\n', out);
	} else if (rq->family == AF_INET6 && grant_prefix_has_zero(&p) &&
	    !rq->v6only && !d.allow)
		fprintf(out, "  note: a socket with IPV6_V6ONLY set binds only "
		    "[::] (see --v6only)\n");
	return d.allow ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}
