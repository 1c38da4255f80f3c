/* Small C helpers for what Swift cannot express directly (GNU-only calls, macros). */
#ifndef HANET_SHIM_H
#define HANET_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <spawn.h>

/* setns(fd, CLONE_NEWNET): setns and CLONE_NEWNET are only declared under _GNU_SOURCE,
   which Swift's Glibc module does not define. Returns 0 or -1 with errno set. */
int hanet_shim_setns_net(int fd);

/* Adds "close every descriptor from `from` up" to a posix_spawn file-action
 * list (glibc's posix_spawn_file_actions_addclosefrom_np, a GNU extension). */
int hanet_shim_spawn_closefrom(posix_spawn_file_actions_t *actions, int from);

/* Names the calling thread (the kernel keeps 15 bytes): pthread_setname_np is
   only declared under _GNU_SOURCE. Returns 0 or an error number. */
int hanet_shim_set_thread_name(const char *name);

/* pidfd_open(pid, 0): a descriptor that polls readable once the child has exited.
   Returns it or -1 with errno set. */
int hanet_shim_pidfd_open(int32_t pid);

/* mallopt(M_ARENA_MAX, count): <malloc.h> is not in Swift's Glibc module.
   Returns mallopt's result (1 on success). */
int hanet_shim_malloc_arena_max(int count);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t hanet_shim_monotonic_nanos(void);

/* Creates (or attaches to) the TUN device `name` (IFF_TUN | IFF_NO_PI) and
   returns its file descriptor, non-blocking and close-on-exec, or -errno.
   The kernel's name for it is copied to `actual` (at least 16 bytes).
   TUNSETIFF takes a struct ifreq through the variadic ioctl, which Swift
   cannot call. */
int hanet_shim_tun_create(const char *name, char *actual, size_t actual_size);

/* The driver of network interface `name` (SIOCETHTOOL ETHTOOL_GDRVINFO, as
   `ethtool -i` shows it: "veth", "cdc_subset", "e1000e"), copied to `out`
   (at least 32 bytes). Returns 0 or -errno. The request goes through the
   variadic ioctl with a struct ifreq, which Swift cannot call. */
int hanet_shim_ethtool_driver(const char *name, char *out, size_t out_size);

/* recvmsg of one IPv4 datagram with IP_PKTINFO: the payload goes to `buf`,
   the sender's address and port (host order) to `from_addr` and `from_port`,
   and the interface it arrived on to `ifindex` (0 when the kernel gave no
   IP_PKTINFO). The CMSG_* macros cannot be used from Swift. Returns the
   payload length or -1 with errno set. */
long hanet_shim_recv_pktinfo(int fd, void *buf, size_t len, uint32_t *from_addr, uint16_t *from_port, int *ifindex);

/* setsockopt(fd, IPPROTO_IP, IP_PKTINFO, 1). Returns 0 or -1 with errno set. */
int hanet_shim_enable_pktinfo(int fd);

/* The calling thread's nice value (setpriority on its thread id): Linux
   schedules threads one by one, so this lowers one thread, not the process.
   Returns 0 or -1 with errno set. */
int hanet_shim_set_thread_nice(int nice);

#endif
