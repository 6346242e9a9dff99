/* instance.h: at most one process per name in a network namespace.
 *
 * The claim is an abstract unix socket bound to the name: abstract names
 * live in the network namespace, and the kernel releases one when its
 * process dies, also by kill -9, so no stale lock file can outlive it.
 */
#ifndef VIPD_INSTANCE_H
#define VIPD_INSTANCE_H

#include <sys/types.h>

/* Returns a listening socket that holds the name (the caller keeps it open
 * for as long as it holds the claim, and accepts and closes what connects:
 * see instance_drain), or -EADDRINUSE with the holder's pid in *holder (0
 * when it cannot be learned), or another negative errno. */
int instance_claim(const char *name, pid_t *holder);
/* Accepts and closes the connections of other claimants that asked who
 * holds the name. */
void instance_drain(int fd);

#endif
