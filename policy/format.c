/* SPDX-License-Identifier: ISC */
/*
 * Names and addresses as the policy writes them, for messages and the
 * admin tool.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

const char *
policy_protos_name(unsigned protos)
{
	switch (protos & (POLICY_TCP | POLICY_UDP)) {
	case POLICY_TCP:
		return "tcp";
	case POLICY_UDP:
		return "udp";
	case POLICY_TCP | POLICY_UDP:
		return "tcp,udp";
	}
	return "none";
}

char *
policy_addr_format(const struct policy_addr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	unsigned full;

	if (len == 0)
		return buf;
	if (a == NULL) {
		snprintf(buf, len, "*");
		return buf;
	}
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    inet_ntop(a->family, a->addr, tmp, sizeof(tmp)) == NULL) {
		snprintf(buf, len, "?");
		return buf;
	}
	full = a->family == AF_INET ? 32 : 128;
	if (a->prefixlen == full)
		snprintf(buf, len, "%s", tmp);
	else
		snprintf(buf, len, "%s/%u", tmp, a->prefixlen);
	return buf;
}

