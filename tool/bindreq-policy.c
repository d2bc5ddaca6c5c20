/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy: check, list, explain, diff and import bindreq policies.
 * Option parsing and dispatch only; the commands are in tool_*.c.
 *
 * It needs no privilege: it reads the policy (and the user and group
 * databases) as whoever runs it, and changes nothing.
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* The options; getopt_long() sets the flags itself. */
static struct opts {
	const char *policy;
	int strict, json, v6only;
	int order;		/* enum tool_list_order */
	size_t max_warnings;
	const char *unit;	/* explain --unit */
} opt = {
	.policy = POLICY_DEFAULT_PATH,
	.max_warnings = TOOL_DEFAULT_MAX_WARNINGS,
	.order = TOOL_LIST_BY_RULE,
};

/* The synopsis of bindreq-policy(8), which says the rest. */
static void
usage(FILE *f)
{
	fputs("usage: bindreq-policy [-p file] check [--strict] "
	    "[--max-warnings n]\n"
	    "       bindreq-policy [-p file] list [--by-port | --by-user] "
	    "[--json]\n"
	    "       bindreq-policy [-p file] explain [--v6only] "
	    "[--unit name.service]\n"
	    "           user|uid tcp|udp address port\n"
	    "       bindreq-policy diff old new\n"
	    "       bindreq-policy import-authbind [dir]\n"
	    "see bindreq-policy(8)\n", f);
}

static int __attribute__((format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bindreq-policy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	usage(stderr);
	return TOOL_EXIT_TROUBLE;
}

enum { OPT_MAX_WARNINGS = 256, OPT_UNIT };

static const struct option longopts[] = {
	{ "policy", required_argument, NULL, 'p' },
	{ "help", no_argument, NULL, 'h' },
	{ "strict", no_argument, &opt.strict, 1 },
	{ "max-warnings", required_argument, NULL, OPT_MAX_WARNINGS },
	{ "by-port", no_argument, &opt.order, TOOL_LIST_BY_PORT },
	{ "by-user", no_argument, &opt.order, TOOL_LIST_BY_USER },
	{ "json", no_argument, &opt.json, 1 },
	{ "v6only", no_argument, &opt.v6only, 1 },
	{ "unit", required_argument, NULL, OPT_UNIT },
	{ NULL, 0, NULL, 0 },
};

/*
 * Options before the command or after it: getopt_long() moves the
 * operands, the command first, behind them. Each command ignores the
 * options it has no use for.
 */
static int
parse_opts(int argc, char **argv)
{
	const char *why;
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 0:
			break;		/* a flag */
		case 'p':
			opt.policy = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(TOOL_EXIT_OK);
		case OPT_MAX_WARNINGS:
			if (tool_number(optarg, ULONG_MAX, &v) == -1)
				return bad_usage("bad --max-warnings '%s'",
				    optarg);
			opt.max_warnings = v;
			break;
		case OPT_UNIT:
			if ((why = policy_unit_name_check(optarg,
			    strlen(optarg))) != NULL)
				return bad_usage("bad --unit '%s': %s", optarg,
				    why);
			opt.unit = optarg;
			break;
		default:
			usage(stderr);
			return TOOL_EXIT_TROUBLE;
		}
	}
	return 0;
}

static int
cmd_check(const struct opts *o, char **argv)
{
	struct tool_check_opts co = { .strict = o->strict,
	    .max_warnings = o->max_warnings };

	(void)argv;
	return tool_check(o->policy, &co, stdout, stderr);
}

static int
cmd_list(const struct opts *o, char **argv)
{
	struct policy *pol;
	int rc;

	(void)argv;
	if (tool_load(o->policy, 0, NULL, &pol, stderr) == -1)
		return TOOL_EXIT_FAIL;
	rc = tool_list(pol, (enum tool_list_order)o->order, o->json, stdout);
	if (rc == -1)
		perror("bindreq-policy: list");
	policy_free(pol);
	return rc == 0 ? TOOL_EXIT_OK : TOOL_EXIT_TROUBLE;
}

static int
cmd_explain(const struct opts *o, char **argv)
{
	struct tool_identity id;
	struct policy_query rq;
	struct policy *pol;
	char msg[512];
	int rc;

	if (tool_request_parse(argv[1], argv[2], argv[3], o->v6only, &rq, msg,
	    sizeof(msg)) == -1 ||
	    tool_identity_lookup(argv[0], &id, msg, sizeof(msg)) == -1) {
		fprintf(stderr, "bindreq-policy: %s\n", msg);
		return TOOL_EXIT_TROUBLE;
	}
	if (tool_load(o->policy, 0, NULL, &pol, stderr) == -1) {
		tool_identity_free(&id);
		return TOOL_EXIT_TROUBLE;
	}
	id.unit = o->unit;
	rc = tool_explain(pol, &id, &rq, stdout);
	policy_free(pol);
	tool_identity_free(&id);
	return rc;
}

static int
cmd_diff(const struct opts *o, char **argv)
{
	struct policy *oldp = NULL, *newp = NULL;
	int rc = TOOL_EXIT_TROUBLE;

	(void)o;
	if (strcmp(argv[0], "-") == 0 && strcmp(argv[1], "-") == 0)
		return bad_usage("diff: only one of OLD and NEW can be -");
	if (tool_load(argv[0], 0, NULL, &oldp, stderr) == 0 &&
	    tool_load(argv[1], 0, NULL, &newp, stderr) == 0 &&
	    (rc = tool_diff(oldp, newp, stdout)) == TOOL_EXIT_TROUBLE)
		perror("bindreq-policy: diff");
	policy_free(oldp);
	policy_free(newp);
	return rc;
}

static int
cmd_import(const struct opts *o, char **argv)
{
	(void)o;
	return tool_import_authbind(argv[0] != NULL ? argv[0] :
	    TOOL_DEFAULT_AUTHBIND, stdout, stderr);
}

static const struct {
	const char *name;
	int min, max;		/* operands */
	int (*run)(const struct opts *, char **);
} commands[] = {
	{ "check", 0, 0, cmd_check },
	{ "list", 0, 0, cmd_list },
	{ "explain", 4, 4, cmd_explain },
	{ "diff", 2, 2, cmd_diff },
	{ "import-authbind", 0, 1, cmd_import },
};

int
main(int argc, char **argv)
{
	const char *cmd;
	size_t i;
	int rc;

	if ((rc = parse_opts(argc, argv)) != 0)
		return rc;
	if (optind >= argc)
		return bad_usage("no command given");
	cmd = argv[optind++];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return bad_usage("unknown command '%s'", cmd);
	argc -= optind;
	if (argc < commands[i].min || argc > commands[i].max)
		return bad_usage("%s: wrong number of operands", cmd);
	rc = commands[i].run(&opt, argv + optind);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("bindreq-policy: standard output");
		return TOOL_EXIT_TROUBLE;
	}
	return rc;
}
