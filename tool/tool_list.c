/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy list: the rules of a loaded policy, as an aligned table
 * or as JSON (an array with one object per row), in load order, by port
 * or by subject. Every row cites the rule's FILE:LINE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* A rule, or (by port) one port range of it. */
struct row {
	const struct policy_rule *r;
	const struct policy_port_range *pr;
	size_t np;
};

static int
by_port(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = TOOL_CMP(x->pr->lo, y->pr->lo);

	if (c == 0)
		c = TOOL_CMP(x->pr->hi, y->pr->hi);
	return c != 0 ? c : TOOL_CMP(x->r, y->r);	/* load order */
}

static int
by_user(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = TOOL_CMP(grant_subject(x->r), grant_subject(y->r));

	return c != 0 ? c : TOOL_CMP(x->r, y->r);
}

/* "uid" or "gid" for what the rule's number is; a unit has none. */
static const char *
id_kind(const struct policy_rule *r)
{
	if (r->subject == POLICY_SUBJECT_UNIT)
		return NULL;
	return r->subject == POLICY_SUBJECT_USER ||
	    r->subject == POLICY_SUBJECT_UID ? "uid" : "gid";
}

/* The row, after a comma unless it is the first. */
static void
json_row(FILE *out, const struct row *w, bool first)
{
	const struct policy_rule *r = w->r;
	char a[64];
	size_t i;

	fprintf(out, "%s\n  {\"file\":", first ? "" : ",");
	tool_put_json(out, r->file);
	fprintf(out, ",\"line\":%u,\"subject\":\"%s\",\"who\":", r->line,
	    tool_subject_word(r->subject));
	tool_put_json(out, r->who != NULL ? r->who : "");
	if (id_kind(r) != NULL)
		fprintf(out, ",\"%s\":%u", id_kind(r), (unsigned)r->id);
	fprintf(out, ",\"protocols\":[%s%s%s]", r->protos & POLICY_TCP ?
	    "\"tcp\"" : "", r->protos == (POLICY_TCP | POLICY_UDP) ? "," : "",
	    r->protos & POLICY_UDP ? "\"udp\"" : "");
	fprintf(out, ",\"ports\":[");
	for (i = 0; i < w->np; i++)
		fprintf(out, "%s{\"from\":%u,\"to\":%u}", i ? "," : "",
		    w->pr[i].lo, w->pr[i].hi);
	fprintf(out, "],\"addresses\":[%s", r->naddrs == 0 ? "\"*\"" : "");
	for (i = 0; i < r->naddrs; i++) {
		fprintf(out, "%s", i ? "," : "");
		tool_put_json(out, policy_addr_format(&r->addrs[i], a,
		    sizeof(a)));
	}
	fprintf(out, "]}");
}

/* Table */

enum { COL_PORTS, COL_SUBJECT, COL_ID, COL_PROTO, COL_ADDRS, COL_RULE,
    NCOLS };

/* A row's cells, one string after another in *buf (to free). */
static int
row_cells(const struct row *w, char **buf, const char *cells[NCOLS])
{
	const struct policy_rule *r = w->r;
	size_t len = 0, k;
	FILE *f = open_memstream(buf, &len);

	if (f == NULL)
		return -1;
	tool_ports_format(f, w->pr, w->np);
	fputc('\0', f);
	tool_rule_subject(f, r);
	if (id_kind(r) != NULL)
		fprintf(f, "%c%s %u", '\0', id_kind(r), (unsigned)r->id);
	else
		fprintf(f, "%c-", '\0');
	fprintf(f, "%c%s%c", '\0', policy_protos_name(r->protos), '\0');
	tool_rule_addrs(f, r);
	fprintf(f, "%c%s:%u", '\0', r->file, r->line);
	/* fclose() returns 0 and leaves NULL if its last realloc fails. */
	if (fclose(f) != 0 || *buf == NULL) {
		free(*buf);
		return -1;
	}
	for (cells[0] = *buf, k = 1; k < NCOLS; k++)
		cells[k] = cells[k - 1] + strlen(cells[k - 1]) + 1;
	return 0;
}

/* Widen the columns to the cells, then print them unless out is NULL. */
static void
put_row(FILE *out, const int *cols, size_t *width, const char *const *cells)
{
	size_t k;

	for (k = 0; k < NCOLS; k++)
		if (strlen(cells[k]) > width[k])
			width[k] = strlen(cells[k]);
	for (k = 0; out != NULL && cols[k] != -1; k++)
		fprintf(out, "%s%-*s", k ? "  " : "", cols[k + 1] == -1 ? 0 :
		    (int)width[cols[k]], cells[cols[k]]);
	if (out != NULL)
		fputc('\n', out);
}

/* Pass 0 measures the columns, pass 1 prints (the widths stay). */
static int
list_table(const struct policy *pol, enum tool_list_order order,
    const struct row *rows, size_t n, FILE *out)
{
	static const char *const heads[NCOLS] = { "PORTS", "SUBJECT", "ID",
	    "PROTO", "ADDRESSES", "RULE" };
	static const int by_rule[] = { COL_SUBJECT, COL_ID, COL_PROTO,
	    COL_PORTS, COL_ADDRS, COL_RULE, -1 };
	static const int by_port[] = { COL_PORTS, COL_PROTO, COL_SUBJECT,
	    COL_ID, COL_ADDRS, COL_RULE, -1 };
	const int *cols = order == TOOL_LIST_BY_PORT ? by_port : by_rule;
	const char *cells[NCOLS];
	size_t width[NCOLS] = { 0 }, i;
	char *buf;
	int pass;

	if (n == 0) {
		fprintf(out, "%s: no grants: bindreqd denies every request\n",
		    pol->path);
		return 0;
	}
	for (pass = 0; pass < 2; pass++) {
		put_row(pass == 1 ? out : NULL, cols, width, heads);
		for (i = 0; i < n; i++) {
			if (row_cells(&rows[i], &buf, cells) == -1)
				return -1;
			put_row(pass == 1 ? out : NULL, cols, width, cells);
			free(buf);
		}
	}
	return 0;
}

int
tool_list(const struct policy *pol, enum tool_list_order order, bool json,
    FILE *out)
{
	const struct policy_rule *r;
	struct row *rows;
	size_t i, j, n = 0, total = 0;
	int rc = 0;

	for (i = 0; i < pol->nrules; i++)
		total += order == TOOL_LIST_BY_PORT ? pol->rules[i].nports : 1;
	if ((rows = calloc(total + 1, sizeof(*rows))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		if (order != TOOL_LIST_BY_PORT)
			rows[n++] = (struct row){ r, r->ports, r->nports };
		for (j = 0; order == TOOL_LIST_BY_PORT && j < r->nports; j++)
			rows[n++] = (struct row){ r, &r->ports[j], 1 };
	}
	if (order != TOOL_LIST_BY_RULE && n > 1)
		qsort(rows, n, sizeof(*rows), order == TOOL_LIST_BY_PORT ?
		    by_port : by_user);
	if (json) {
		fputs("[", out);
		for (i = 0; i < n; i++)
			json_row(out, &rows[i], i == 0);
		fputs(n ? "\n]\n" : "]\n", out);
	} else if ((rc = list_table(pol, order, rows, n, out)) == -1)
		errno = ENOMEM;
	free(rows);
	return rc;
}
