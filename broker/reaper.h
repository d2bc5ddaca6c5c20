/* SPDX-License-Identifier: ISC */
/*
 * Closing what clients hand over, without ever sleeping in the event loop
 * (reaper.c says how and why).
 */
#ifndef BINDREQD_REAPER_H
#define BINDREQD_REAPER_H

#include <stdbool.h>

/*
 * After the privilege drop and before the sandbox: the closer threads
 * (so that they have the dropped credentials, which are per thread, and
 * are running when the filter is loaded on every thread). Fatal on
 * failure.
 */
void reaper_init(void);

/*
 * Close a descriptor a client passed and the daemon refused: a socket
 * goes to the socket closer (abortively if it is connected, so that even
 * as the last reference its close cannot wait for unsent data), anything
 * else to the file closer. Returns true if fd was not a socket (the
 * caller may hold that against its uid).
 */
bool reaper_close_refused(int fd);

/*
 * Close the daemon's copy of a socket it bound for a client, once the
 * reply is sent: at once, so that the port is free when the client closes
 * its own, unless SO_LINGER could make the close wait (then the socket
 * closer does it). Its options are left alone.
 */
void reaper_close_granted(int fd);

/*
 * Close a connection, in the loop, under the loop's watchdog (its queue
 * may still hold messages, and clients' descriptors in them). If a
 * duplicate of it was ever handed to reaper_drain(), the caller first
 * takes it out of the epoll set (the duplicate keeps it open).
 */
void reaper_close_conn(int fd);

/*
 * Before the loop waits: the watchdog of reaper_close_conn() is disarmed
 * if it covered no close since the last call (reaper.c says why).
 */
void reaper_loop_rest(void);

/*
 * Throw away what is queued on a connection the loop no longer reads
 * (and the descriptors in it), in the socket closer: the connection
 * itself stays open.
 */
void reaper_drain(int fd);

/* Descriptors queued to the closers and not closed yet. */
long reaper_pending(void);

#endif /* BINDREQD_REAPER_H */
