/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy list: the grants of a loaded policy, as an aligned table
 * or as JSON (an array with one object per grant), in file order, by port
 * or by subject. Every row cites the rule's FILE:LINE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* One grant as listed: a rule, or one port range of a rule (by port). */
struct row {
	const struct policy_rule *r;
	const struct policy_port_range *range;	/* NULL: all its ports */
};

static int
by_port(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c;

	if ((c = TOOL_CMP(x->range->lo, y->range->lo)) != 0 ||
	    (c = TOOL_CMP(x->range->hi, y->range->hi)) != 0)
		return c;
	return TOOL_CMP(x->r, y->r);	/* load order: file, then line */
}

static int
by_user(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = TOOL_CMP(grant_subject(x->r), grant_subject(y->r));

	return c != 0 ? c : TOOL_CMP(x->r, y->r);
}

static struct row *
make_rows(const struct policy *pol, enum tool_list_order order, size_t *n)
{
	struct row *rows;
	size_t i, j, k = 0, total = 0;

	for (i = 0; i < pol->nrules; i++)
		total += order == TOOL_LIST_BY_PORT ? pol->rules[i].nports : 1;
	rows = calloc(total + 1, sizeof(*rows));
	if (rows == NULL)
		return NULL;
	for (i = 0; i < pol->nrules; i++) {
		if (order != TOOL_LIST_BY_PORT) {
			rows[k++].r = &pol->rules[i];
			continue;
		}
		for (j = 0; j < pol->rules[i].nports; j++) {
			rows[k].r = &pol->rules[i];
			rows[k++].range = &pol->rules[i].ports[j];
		}
	}
	if (order == TOOL_LIST_BY_PORT)
		qsort(rows, k, sizeof(*rows), by_port);
	else if (order == TOOL_LIST_BY_USER)
		qsort(rows, k, sizeof(*rows), by_user);
	*n = k;
	return rows;
}

static const char *
id_kind(const struct policy_rule *r)
{
	return r->subject == POLICY_SUBJECT_USER ||
	    r->subject == POLICY_SUBJECT_UID ? "uid" :
	    r->subject == POLICY_SUBJECT_UNIT ? NULL : "gid";
}

/* ------------------------------------------------------------------ */
/* JSON */

static void
json_row(FILE *out, const struct policy *pol, const struct row *w)
{
	const struct policy_rule *r = w->r;
	const struct policy_port_range *pr = w->range ? w->range : r->ports;
	size_t np = w->range ? 1 : r->nports, i;
	char a[64];

	(void)pol;	/* each rule names its own file of the set */

	fprintf(out, "{\"file\":");
	tool_put_json(out, r->file);
	fprintf(out, ",\"line\":%u,\"subject\":\"%s\",\"who\":", r->line,
	    tool_subject_word(r->subject));
	tool_put_json(out, r->who != NULL ? r->who : "");
	/* A unit's number is the policy's own: no field for it. */
	if (id_kind(r) != NULL)
		fprintf(out, ",\"%s\":%u", id_kind(r), (unsigned)r->id);
	fprintf(out, ",\"protocols\":[");
	if (r->protos & POLICY_TCP)
		fprintf(out, "\"tcp\"%s", r->protos & POLICY_UDP ? "," : "");
	if (r->protos & POLICY_UDP)
		fprintf(out, "\"udp\"");
	fprintf(out, "],\"ports\":[");
	for (i = 0; i < np; i++)
		fprintf(out, "%s{\"from\":%u,\"to\":%u}", i ? "," : "",
		    pr[i].lo, pr[i].hi);
	fprintf(out, "],\"addresses\":[%s", r->naddrs == 0 ? "\"*\"" : "");
	for (i = 0; i < r->naddrs; i++) {
		fprintf(out, "%s", i ? "," : "");
		tool_put_json(out, policy_addr_format(&r->addrs[i], a,
		    sizeof(a)));
	}
	fprintf(out, "]}");
}

static int
list_json(const struct policy *pol, const struct row *rows, size_t n,
    FILE *out)
{
	size_t i;

	fputs("[", out);
	for (i = 0; i < n; i++) {
		fprintf(out, "%s\n  ", i ? "," : "");
		json_row(out, pol, &rows[i]);
	}
	fputs(n ? "\n]\n" : "]\n", out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Table */

enum { COL_PORTS, COL_SUBJECT, COL_ID, COL_PROTO, COL_ADDRS, COL_RULE,
    NCOLS };

static const char *const heads[NCOLS] = {
	"PORTS", "SUBJECT", "ID", "PROTO", "ADDRESSES", "RULE",
};

/*
 * A row's cells, as strings one after another in *buf (to free). Returns
 * 0, or -1 when memory ran out.
 */
static int
row_cells(const struct policy *pol, const struct row *w, char **buf,
    const char *cells[NCOLS])
{
	const struct policy_rule *r = w->r;
	size_t len = 0, k;
	FILE *f = open_memstream(buf, &len);

	(void)pol;	/* each rule names its own file of the set */
	if (f == NULL)
		return -1;
	tool_ports_format(f, w->range ? w->range : r->ports,
	    w->range ? 1 : r->nports);
	fputc('\0', f);
	tool_rule_subject(f, r);
	fputc('\0', f);
	if (id_kind(r) != NULL)
		fprintf(f, "%s %u", id_kind(r), (unsigned)r->id);
	else
		fprintf(f, "-");	/* a unit has its name only */
	fputc('\0', f);
	fprintf(f, "%s", policy_protos_name(r->protos));
	fputc('\0', f);
	tool_rule_addrs(f, r);
	fputc('\0', f);
	fprintf(f, "%s:%u", r->file, r->line);
	if (fclose(f) != 0) {
		free(*buf);
		return -1;
	}
	for (cells[0] = *buf, k = 1; k < NCOLS; k++)
		cells[k] = cells[k - 1] + strlen(cells[k - 1]) + 1;
	return 0;
}

/* Which columns, in which order. */
static const int *
columns(enum tool_list_order order)
{
	static const int by_rule[] = { COL_SUBJECT, COL_ID, COL_PROTO,
	    COL_PORTS, COL_ADDRS, COL_RULE, -1 };
	static const int by_port_cols[] = { COL_PORTS, COL_PROTO,
	    COL_SUBJECT, COL_ID, COL_ADDRS, COL_RULE, -1 };

	return order == TOOL_LIST_BY_PORT ? by_port_cols : by_rule;
}

static void
print_row(FILE *out, const int *cols, const size_t *width,
    const char *const *cells)
{
	size_t k;

	for (k = 0; cols[k] != -1; k++)
		fprintf(out, "%s%-*s", k ? "  " : "", cols[k + 1] == -1 ? 0 :
		    (int)width[cols[k]], cells[cols[k]]);
	fputc('\n', out);
}

static int
list_table(const struct policy *pol, enum tool_list_order order,
    const struct row *rows, size_t n, FILE *out)
{
	const char *cells[NCOLS];
	size_t width[NCOLS], i, k;
	const int *cols = columns(order);
	char *buf;
	int pass;

	if (n == 0) {
		fprintf(out, "%s: no grants: bindreqd denies every request\n",
		    pol->path);
		return 0;
	}
	for (k = 0; k < NCOLS; k++)
		width[k] = strlen(heads[k]);
	/* Pass 0 measures, pass 1 prints. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			print_row(out, cols, width, heads);
		for (i = 0; i < n; i++) {
			if (row_cells(pol, &rows[i], &buf, cells) == -1)
				return -1;
			for (k = 0; k < NCOLS && pass == 0; k++)
				if (strlen(cells[k]) > width[k])
					width[k] = strlen(cells[k]);
			if (pass == 1)
				print_row(out, cols, width, cells);
			free(buf);
		}
	}
	return 0;
}

int
tool_list(const struct policy *pol, enum tool_list_order order, bool json,
    FILE *out)
{
	struct row *rows;
	size_t n = 0;
	int rc;

	rows = make_rows(pol, order, &n);
	if (rows == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (json)
		rc = list_json(pol, rows, n, out);
	else
		rc = list_table(pol, order, rows, n, out);
	free(rows);
	if (rc == -1)
		errno = ENOMEM;
	return rc;
}
