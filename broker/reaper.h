/*
 * Closing what clients hand over, without ever sleeping in the event loop
 * (reaper.c says how and why).
 */
#ifndef BINDREQD_REAPER_H
#define BINDREQD_REAPER_H

#include <stdbool.h>

/*
 * Before the sandbox: the watchdog signal and timer of this thread, and
 * the closer thread. Fatal on failure.
 */
void reaper_init(void);

/*
 * Around one round of event handling: while armed, a timer interrupts any
 * interruptible sleep of this thread within REAPER_TICK_US.
 */
void reaper_arm(void);
void reaper_disarm(void);

/*
 * Close a descriptor a client passed and the daemon refused. A connected
 * socket is made to close abortively first (SO_LINGER {1, 0}), so that
 * even as the last reference its close cannot wait for unsent data;
 * anything that is not a socket goes to the closer thread. Returns true if fd was not a socket (the
 * caller may want to hold that against its uid).
 */
bool reaper_close_refused(int fd);

/*
 * Close the daemon's copy of a socket it bound for a client: the client
 * holds its own copy, so its options are left alone; should the client
 * have dropped every other reference in the meantime, the watchdog bounds
 * the wait.
 */
void reaper_close_granted(int fd);

/* Close a connection (its queue may hold clients' descriptors). */
void reaper_close_conn(int fd);

#endif /* BINDREQD_REAPER_H */
