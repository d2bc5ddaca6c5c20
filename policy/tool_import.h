/*
 * What the two halves of bindreq-policy import-authbind share:
 * tool_import.c reads byport and byaddr and writes the result,
 * tool_import_uid.c reads byuid. Private to them.
 */
#ifndef BINDREQ_TOOL_IMPORT_H
#define BINDREQ_TOOL_IMPORT_H

#include <dirent.h>
#include <stdio.h>

#include "tool.h"

#define LOW_HALF_END	511	/* ports 1-511: names without '!' */
#define PORT_MAX_PRIV	1023

/* Addresses per policy line, to keep lines short and readable. */
#define ADDRS_PER_RULE	16

/* A byaddr file that decides its address and port. */
struct point {
	int family;		/* 4 or 6 */
	uint8_t addr[16];	/* as in grant_prefix.a: memcmp orders them */
	unsigned port;
};

struct importer {
	const char *dir;
	int dfd;
	FILE *out;		/* the policy (a memory stream) */
	FILE *err;
	int differs;		/* the policy is not equivalent */
	bool port_decided[PORT_MAX_PRIV + 1];	/* byport/PORT exists */
	struct point *points;
	size_t npoints, cap_points;
	int nomem;
};

/*
 * One message about src (a path under dir). differs: the policy is not
 * equivalent there; otherwise a note.
 */
void	msg(struct importer *im, bool differs, const char *src,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "# SUB/NAME", NAME escaped: control bytes cannot end the comment. */
void	import_comment(struct importer *im, const char *sub,
	    const char *name);
/* A decimal number as authbind prints one: no sign, no leading zero. */
int	import_number(const char *s, unsigned long max, unsigned long *v);
/*
 * "user NAME" ("group NAME") when NAME maps back to id, else "uid N"
 * ("gid N").
 */
void	import_subject(char *buf, size_t len, uint32_t id, bool group);
/*
 * The sorted entries of dir/sub, and a descriptor on it in *sfd. Returns
 * 0 (an absent directory is empty, *sfd -1), or -1 after saying why.
 */
int	import_names(struct importer *im, const char *sub, int *sfd,
	    struct dirent ***out, size_t *nout);
void	import_names_free(struct dirent **names, size_t n);

/* byuid/, after byport/ and byaddr/ (whose decisions it leaves alone). */
void	import_byuid(struct importer *im);

#endif /* BINDREQ_TOOL_IMPORT_H */
