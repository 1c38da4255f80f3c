/* Small C helpers for what Swift cannot express directly (GNU-only calls, macros). */
#ifndef HANET_SHIM_H
#define HANET_SHIM_H
#include <stdint.h>
#include <stddef.h>

/* setns(fd, CLONE_NEWNET): setns and CLONE_NEWNET are only declared under _GNU_SOURCE,
   which Swift's Glibc module does not define. Returns 0 or -1 with errno set. */
int hanet_shim_setns_net(int fd);

/* The kernel thread id of the caller (gettid), for diagnostics. */
int32_t hanet_shim_gettid(void);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t hanet_shim_monotonic_nanos(void);

#endif
