/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's side of a policy reload through the name resolver
 * (resolver_int.h): the answer's datagrams are taken as they come (each
 * file's path, size and sha256, its bytes in order, the names the
 * resolver resolved, or the errors of a refusal) and the set is rebuilt
 * here, never taken from the resolver as rules.
 *
 * What it trusts: nothing the resolver says but bytes and names. Every
 * count, size, offset and order is checked against what came before and
 * against RSV_MAX_*; the files must be the set asked for (the path, then
 * only PATH.d/NAME.policy in strcmp order); the set is parsed with
 * policy_parse_set() from those bytes and a resolver that answers only
 * from the table of names sent, so the rules, their files and lines and
 * the sha256 are exactly the set's, and each file's bytes must match the
 * sha256 sent with them. A name missing from the table is a warning and
 * its rule matches nobody. The first violation ends the conversation
 * (resolver_gone()).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver_int.h"
#include "resolver_proto.h"

/* A reload answer being received, for the request at the queue's head. */
struct rx_file {
	char *path;
	uint64_t size, got;
	uint8_t sha256[32];
	char *bytes;
};

struct rx_name {
	uint32_t kind, id;
	char *name;
};

struct rx {
	bool active;
	uint32_t nfiles;
	uint64_t total;		/* bytes announced, all files */
	struct rx_file *files;	/* nfiles of cap, grown as they come */
	uint32_t fcap;
	struct rx_name *names;
	size_t nnames, cap;
	char *errors[RSV_MAX_ERRORS];
	uint32_t nerrors;
};

static struct rx rx;

void
reload_reset(void)
{
	size_t i;

	for (i = 0; i < rx.nfiles; i++) {
		free(rx.files[i].path);
		free(rx.files[i].bytes);
	}
	free(rx.files);
	for (i = 0; i < rx.nnames; i++)
		free(rx.names[i].name);
	free(rx.names);
	for (i = 0; i < rx.nerrors; i++)
		free(rx.errors[i]);
	memset(&rx, 0, sizeof(rx));
}

void
reload_refuse(const struct resolver_callbacks *cb, const char *msg)
{
	struct policy_errors errs = { .count = 1 };

	snprintf(errs.first, sizeof(errs.first), "%s", msg);
	if (cb->reload_error != NULL)
		cb->reload_error(cb->arg, msg);
	cb->policy_ready(cb->arg, NULL, &errs);
}

static int
name_cmp(const void *a, const void *b)
{
	const struct rx_name *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
table_find(void *arg, uint32_t kind, const char *name, uint32_t *id)
{
	struct rx_name key = { .kind = kind, .name = (char *)name }, *hit;

	(void)arg;
	hit = rx.nnames == 0 ? NULL :	/* bsearch(.., NULL, 0) is undefined */
	    bsearch(&key, rx.names, rx.nnames, sizeof(key), name_cmp);
	if (hit == NULL) {
		errno = 0;	/* "unknown user", as NSS says it */
		return -1;
	}
	*id = hit->id;
	return 0;
}

static int
table_user(void *arg, const char *name, uint32_t *id)
{
	return table_find(arg, RSV_KIND_USER, name, id);
}

static int
table_group(void *arg, const char *name, uint32_t *id)
{
	return table_find(arg, RSV_KIND_GROUP, name, id);
}

struct report_ctx {
	const struct resolver_callbacks *cb;
};

static void
report_error(void *arg, const char *msg)
{
	const struct report_ctx *r = arg;

	if (r->cb->reload_error != NULL)
		r->cb->reload_error(r->cb->arg, msg);
}

static void
report_warning(void *arg, const char *msg)
{
	const struct report_ctx *r = arg;

	if (r->cb->reload_warning != NULL)
		r->cb->reload_warning(r->cb->arg, msg);
}

/*
 * The files are the set asked for: the request's path first, then only
 * PATH.d/NAME.policy, each once, in strcmp order, as policy_load() reads.
 */
static bool
files_fit(const char *path)
{
	size_t plen = strlen(path), i;
	const char *name, *prev = NULL;

	if (rx.nfiles < 1 || strcmp(rx.files[0].path, path) != 0)
		return false;
	for (i = 1; i < rx.nfiles; i++) {
		if (strncmp(rx.files[i].path, path, plen) != 0 ||
		    strncmp(rx.files[i].path + plen, ".d/", 3) != 0)
			return false;
		name = rx.files[i].path + plen + 3;
		if (name[0] == '\0' || name[0] == '.' ||
		    strchr(name, '/') != NULL ||
		    (prev != NULL && strcmp(prev, name) >= 0))
			return false;
		prev = name;
	}
	return true;
}

/* An accepted answer, complete: the set from its bytes and names. */
static void
rebuild(const struct resolver_callbacks *cb, const char *path)
{
	static const struct policy_resolver table = {
		.user = table_user, .group = table_group,
	};
	struct policy_source *src;
	struct report_ctx rc = { cb };
	struct policy_errors errs = { .report = report_error, .arg = &rc,
	    .warn = report_warning };
	struct rx_file *f;
	struct policy *pol;
	size_t i;

	if (!files_fit(path)) {
		resolver_gone("reload answer for another file or set");
		return;
	}
	if (rx.nnames > 1)	/* qsort(NULL, 0) is undefined */
		qsort(rx.names, rx.nnames, sizeof(*rx.names),
		    name_cmp);
	for (i = 1; i < rx.nnames; i++)
		if (name_cmp(&rx.names[i - 1], &rx.names[i]) == 0) {
			resolver_gone("reload answer names %s twice",
			    rx.names[i].name);
			return;
		}
	if ((src = calloc(rx.nfiles, sizeof(*src))) == NULL) {
		reload_refuse(cb, "reload: out of memory");
		return;
	}
	for (i = 0; i < rx.nfiles; i++) {
		f = &rx.files[i];
		src[i].path = f->path;
		src[i].text = f->bytes;
		src[i].len = (size_t)f->size;
	}
	i = policy_parse_set(src, rx.nfiles, POLICY_LOAD_UNKNOWN_WARN,
	    &table, &pol, &errs) < 0;
	free(src);
	if (i) {
		cb->policy_ready(cb->arg, NULL, &errs);
		return;
	}
	for (i = 0; i < rx.nfiles; i++)
		if (memcmp(pol->files[i].sha256, rx.files[i].sha256,
		    sizeof(pol->files[i].sha256)) != 0) {
			policy_free(pol);
			resolver_gone("reload answer whose bytes do not "
			    "match their sha256");
			return;
		}
	cb->policy_ready(cb->arg, pol, &errs);
}

/* RSV_RELOAD_END: check the counts, then deliver (unless it expired). */
static bool
take_end(const struct resolver_callbacks *cb, const struct rsv_reload_end *m,
    const char *path, bool expired)
{
	struct policy_errors errs = { 0 };
	uint32_t i;
	bool ok;

	if (m->reserved != 0) {
		resolver_gone("malformed reload end");
		return false;
	}
	if (m->status == 0)
		ok = m->nfiles == rx.nfiles && m->nfiles >= 1 &&
		    rx.files[m->nfiles - 1].got ==
		    rx.files[m->nfiles - 1].size &&
		    m->nnames == rx.nnames && m->nerrors == 0 &&
		    m->nsent == 0 && rx.nerrors == 0;
	else
		ok = m->status < 4096 && rx.nfiles == 0 &&
		    rx.nnames == 0 && m->nfiles == 0 && m->nnames == 0 &&
		    m->nsent == rx.nerrors && m->nerrors >= m->nsent &&
		    m->nsent >= 1;
	if (!ok) {
		resolver_gone("reload answer whose end does not match it");
		return false;
	}
	if (!expired && m->status == 0)
		rebuild(cb, path);
	else if (!expired) {
		for (i = 0; i < rx.nerrors; i++)
			if (cb->reload_error != NULL)
				cb->reload_error(cb->arg, rx.errors[i]);
		errs.count = m->nerrors;
		snprintf(errs.first, sizeof(errs.first), "%s",
		    rx.errors[0]);
		cb->policy_ready(cb->arg, NULL, &errs);
	}
	if (resolver_fd() < 0)
		return false;
	reload_reset();
	return true;
}

static void
take_file(const struct rsv_reload_file *m)
{
	struct rx_file *f, *nf;
	uint32_t ncap;

	if (rx.nfiles >= RSV_MAX_FILES || m->index != rx.nfiles ||
	    m->reserved != 0 || m->size > RSV_MAX_FILE - rx.total ||
	    rx.nnames > 0 || rx.nerrors > 0 ||
	    (rx.nfiles > 0 && rx.files[rx.nfiles - 1].got !=
	    rx.files[rx.nfiles - 1].size) ||
	    !rsv_terminated(m->path, sizeof(m->path))) {
		resolver_gone("malformed reload file");
		return;
	}
	if (rx.nfiles == rx.fcap) {
		ncap = rx.fcap == 0 ? 4 : rx.fcap * 2;
		if (ncap > RSV_MAX_FILES)
			ncap = RSV_MAX_FILES;
		if ((nf = realloc(rx.files, ncap * sizeof(*nf))) == NULL) {
			resolver_gone("out of memory for a reload of %u files",
			    rx.nfiles + 1);
			return;
		}
		rx.files = nf;
		rx.fcap = ncap;
	}
	f = &rx.files[rx.nfiles];
	memset(f, 0, sizeof(*f));
	rx.total += m->size;
	f->size = m->size;
	f->got = 0;
	memcpy(f->sha256, m->sha256, sizeof(f->sha256));
	/* +1: an empty policy still gets a buffer. */
	if ((f->path = strdup(m->path)) == NULL ||
	    (f->bytes = malloc((size_t)m->size + 1)) == NULL) {
		resolver_gone("out of memory for a reload of %llu bytes",
		    (unsigned long long)m->size);
		return;
	}
	rx.nfiles++;
}

static void
take_data(const struct rsv_reload_data *m, size_t n)
{
	struct rx_file *f = rx.nfiles > 0 ?
	    &rx.files[rx.nfiles - 1] : NULL;

	if (f == NULL || m->index != rx.nfiles - 1 || m->len == 0 ||
	    m->len > RSV_CHUNK || n != RSV_DATA_HDR + m->len ||
	    m->offset != f->got || m->len > f->size - f->got) {
		resolver_gone("malformed reload data");
		return;
	}
	memcpy(f->bytes + f->got, m->data, m->len);
	f->got += m->len;
}

static void
take_reload_name(const struct rsv_reload_name *m)
{
	struct rx_name *nv;
	size_t ncap;

	if ((m->kind != RSV_KIND_USER && m->kind != RSV_KIND_GROUP) ||
	    !rsv_terminated(m->name, sizeof(m->name)) || m->name[0] == '\0' ||
	    rx.nfiles == 0 || rx.nerrors > 0 ||
	    rx.files[rx.nfiles - 1].got !=
	    rx.files[rx.nfiles - 1].size ||
	    rx.nnames >= RSV_MAX_NAMES) {
		resolver_gone("malformed reload name");
		return;
	}
	if (rx.nnames == rx.cap) {
		ncap = rx.cap == 0 ? 64 : rx.cap * 2;
		if ((nv = realloc(rx.names, ncap * sizeof(*nv))) == NULL) {
			resolver_gone("out of memory for reload names");
			return;
		}
		rx.names = nv;
		rx.cap = ncap;
	}
	nv = &rx.names[rx.nnames];
	nv->kind = m->kind;
	nv->id = m->id;
	if ((nv->name = strdup(m->name)) == NULL) {
		resolver_gone("out of memory for reload names");
		return;
	}
	rx.nnames++;
}

static void
take_error(const struct rsv_reload_error *m)
{
	if (rx.nfiles > 0 || rx.nnames > 0 ||
	    rx.nerrors >= RSV_MAX_ERRORS ||
	    !rsv_terminated(m->msg, sizeof(m->msg))) {
		resolver_gone("malformed reload error");
		return;
	}
	if ((rx.errors[rx.nerrors] = strdup(m->msg)) == NULL) {
		resolver_gone("out of memory for reload errors");
		return;
	}
	rx.nerrors++;
}

bool
reload_take(const struct resolver_callbacks *cb, const void *buf, size_t n,
    const char *path, bool expired)
{
	const struct rsv_hdr *h = buf;

	switch (h->type) {
	case RSV_RELOAD_FILE: take_file(buf); break;
	case RSV_RELOAD_DATA: take_data(buf, n); break;
	case RSV_RELOAD_NAME: take_reload_name(buf); break;
	case RSV_RELOAD_ERROR: take_error(buf); break;
	case RSV_RELOAD_END: return take_end(cb, buf, path, expired);
	}
	return false;
}
