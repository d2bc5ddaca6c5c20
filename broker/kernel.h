/* SPDX-License-Identifier: ISC */
/*
 * What the daemon needs from a kernel newer than Debian 12's 6.1 headers
 * (the machines run 6.18), and whether this is a sanitizer build: defined
 * here once, for every file of the daemon.
 */
#ifndef BINDREQD_KERNEL_H
#define BINDREQD_KERNEL_H

#include <sys/socket.h>

/* Linux 5.14: the network namespace of a socket, as a cookie. */
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE		71
#endif

/*
 * Linux 6.5: a pidfd for the peer of a Unix socket, for the process that
 * connected, taken at connect time as SO_PEERCRED is (net/core/sock.c).
 * bindreqd reads the caller's cgroup through it without a pid-reuse race.
 */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD		77
#endif

/* make SANITIZE=1 (ASan and UBSan): see privdrop.c and sandbox.c. */
#if defined(__SANITIZE_ADDRESS__)
#define BROKER_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BROKER_SANITIZER	1
#endif
#endif

#endif /* BINDREQD_KERNEL_H */
