#define _GNU_SOURCE
#include "hanet_shim.h"
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int hanet_shim_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }

int32_t hanet_shim_gettid(void) { return (int32_t)syscall(SYS_gettid); }

uint64_t hanet_shim_monotonic_nanos(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
