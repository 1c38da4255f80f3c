#define _GNU_SOURCE
#include "hanet_shim.h"
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

int hanet_shim_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }

int hanet_shim_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int hanet_shim_set_thread_name(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    return pthread_setname_np(pthread_self(), buf);
}

int hanet_shim_malloc_arena_max(int count) { return mallopt(M_ARENA_MAX, count); }

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
int hanet_shim_pidfd_open(int32_t pid) { return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0); }

uint64_t hanet_shim_monotonic_nanos(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int hanet_shim_tun_create(const char *name, char *actual, size_t actual_size) {
    if (name == NULL || strlen(name) >= IFNAMSIZ) return -EINVAL;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (actual != NULL && actual_size > 0) snprintf(actual, actual_size, "%s", ifr.ifr_name);
    return fd;
}

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/socket.h>

int hanet_shim_ethtool_driver(const char *name, char *out, size_t out_size) {
    if (out_size == 0) return -EINVAL;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ethtool_drvinfo info;
    memset(&info, 0, sizeof info);
    info.cmd = ETHTOOL_GDRVINFO;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_data = (char *)&info;
    int rc = ioctl(fd, SIOCETHTOOL, &ifr);
    int err = errno;
    close(fd);
    if (rc < 0) return -err;
    snprintf(out, out_size, "%s", info.driver);
    return 0;
}

long hanet_shim_recv_pktinfo(int fd, void *buf, size_t len, uint32_t *from_addr, uint16_t *from_port, int *ifindex) {
    struct sockaddr_in from;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    union { char bytes[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } control;
    struct msghdr msg = {
        .msg_name = &from, .msg_namelen = sizeof from,
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.bytes, .msg_controllen = sizeof control.bytes,
    };
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) return -1;
    *from_addr = ntohl(from.sin_addr.s_addr);
    *from_port = ntohs(from.sin_port);
    *ifindex = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            *ifindex = info.ipi_ifindex;
        }
    }
    return (long)n;
}

int hanet_shim_enable_pktinfo(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
}

int hanet_shim_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
