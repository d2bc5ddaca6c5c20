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
	return TOOL_CMP(x->r->line, y->r->line);
}

static int
by_user(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = TOOL_CMP(grant_subject(x->r), grant_subject(y->r));

	return c != 0 ? c : TOOL_CMP(x->r->line, y->r->line);
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
	    r->subject == POLICY_SUBJECT_UID ? "uid" : "gid";
}

/* ------------------------------------------------------------------ */
/* JSON */

static void
json_row(struct tool_buf *b, const struct policy *pol, const struct row *w)
{
	const struct policy_rule *r = w->r;
	const struct policy_port_range *pr = w->range ? w->range : r->ports;
	size_t np = w->range ? 1 : r->nports, i;
	char a[64];

	tool_buf_printf(b, "{\"file\":");
	tool_buf_json(b, pol->path);
	tool_buf_printf(b, ",\"line\":%u,\"subject\":\"%s\",\"who\":",
	    r->line, tool_subject_word(r->subject));
	tool_buf_json(b, r->who != NULL ? r->who : "");
	tool_buf_printf(b, ",\"%s\":%u,\"protocols\":[", id_kind(r),
	    (unsigned)r->id);
	if (r->protos & POLICY_TCP)
		tool_buf_printf(b, "\"tcp\"%s", r->protos & POLICY_UDP ?
		    "," : "");
	if (r->protos & POLICY_UDP)
		tool_buf_printf(b, "\"udp\"");
	tool_buf_printf(b, "],\"ports\":[");
	for (i = 0; i < np; i++)
		tool_buf_printf(b, "%s{\"from\":%u,\"to\":%u}", i ? "," : "",
		    pr[i].lo, pr[i].hi);
	tool_buf_printf(b, "],\"addresses\":[");
	if (r->naddrs == 0)
		tool_buf_printf(b, "\"*\"");
	for (i = 0; i < r->naddrs; i++) {
		tool_buf_printf(b, "%s", i ? "," : "");
		tool_buf_json(b, policy_addr_format(&r->addrs[i], a,
		    sizeof(a)));
	}
	tool_buf_printf(b, "]}");
}

static int
list_json(const struct policy *pol, const struct row *rows, size_t n,
    FILE *out)
{
	struct tool_buf b = { 0 };
	size_t i;

	fputs("[", out);
	for (i = 0; i < n; i++) {
		b.len = 0;
		json_row(&b, pol, &rows[i]);
		if (b.err)
			break;
		fprintf(out, "%s\n  %s", i ? "," : "", b.s);
	}
	fputs(n ? "\n]\n" : "]\n", out);
	tool_buf_free(&b);
	return i == n ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Table */

enum { COL_PORTS, COL_SUBJECT, COL_ID, COL_PROTO, COL_ADDRS, COL_RULE,
    NCOLS };

static const char *const heads[NCOLS] = {
	"PORTS", "SUBJECT", "ID", "PROTO", "ADDRESSES", "RULE",
};

/* Column cells of a row, each its own string in cells[]. */
static void
row_cells(const struct policy *pol, const struct row *w,
    struct tool_buf cells[NCOLS])
{
	const struct policy_rule *r = w->r;

	if (w->range != NULL)
		tool_ports_format(&cells[COL_PORTS], w->range, 1);
	else
		tool_rule_ports(&cells[COL_PORTS], r);
	tool_rule_subject(&cells[COL_SUBJECT], r);
	tool_buf_printf(&cells[COL_ID], "%s %u", id_kind(r), (unsigned)r->id);
	tool_buf_printf(&cells[COL_PROTO], "%s", policy_protos_name(r->protos));
	tool_rule_addrs(&cells[COL_ADDRS], r);
	tool_buf_printf(&cells[COL_RULE], "%s:%u", pol->path, r->line);
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

static int
list_table(const struct policy *pol, enum tool_list_order order,
    const struct row *rows, size_t n, FILE *out)
{
	struct tool_buf cells[NCOLS];
	size_t width[NCOLS], i, k;
	const int *cols = columns(order);
	int pass, rc = 0;

	if (n == 0) {
		fprintf(out, "%s: no grants: bindreqd denies every request\n",
		    pol->path);
		return 0;
	}
	for (k = 0; k < NCOLS; k++)
		width[k] = strlen(heads[k]);
	memset(cells, 0, sizeof(cells));
	/* Pass 0 measures, pass 1 prints. */
	for (pass = 0; pass < 2 && rc == 0; pass++) {
		if (pass == 1) {
			for (k = 0; cols[k] != -1; k++)
				fprintf(out, "%s%-*s", k ? "  " : "",
				    cols[k + 1] == -1 ? 0 :
				    (int)width[cols[k]], heads[cols[k]]);
			fputc('\n', out);
		}
		for (i = 0; i < n && rc == 0; i++) {
			for (k = 0; k < NCOLS; k++)
				cells[k].len = 0;
			row_cells(pol, &rows[i], cells);
			for (k = 0; k < NCOLS; k++) {
				if (cells[k].err)
					rc = -1;
				else if (pass == 0 && cells[k].len > width[k])
					width[k] = cells[k].len;
			}
			if (pass == 0 || rc == -1)
				continue;
			for (k = 0; cols[k] != -1; k++)
				fprintf(out, "%s%-*s", k ? "  " : "",
				    cols[k + 1] == -1 ? 0 :
				    (int)width[cols[k]], cells[cols[k]].s);
			fputc('\n', out);
		}
	}
	for (k = 0; k < NCOLS; k++)
		tool_buf_free(&cells[k]);
	return rc;
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
