/*
 * LD_PRELOAD shim for the checker timing interop test: answers the IPVS socket
 * options (IP_VS_SO_*, the range from 1152) as a kernel with an empty IPVS table
 * would, so Debian's keepalived can run its checker process on a kernel without
 * IPVS. Only the kernel boundary is faked: the health checks keepalived runs (and
 * whose packets the test captures) are its own, unchanged. Every other socket
 * option goes to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define IPVS_BASE 1152
#define IPVS_LAST (IPVS_BASE + 15)

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static int (*real)(int, int, int, void *, socklen_t *);
	if (level == IPPROTO_IP && name >= IPVS_BASE && name <= IPVS_LAST) {
		if (val && len)
			memset(val, 0, *len);
		if (name == IPVS_BASE && val && len)
			snprintf(val, *len, "IP Virtual Server version 1.2.1 (size=4096)");
		if (name == IPVS_BASE + 1 && val && len && *len >= 12) {
			unsigned int *info = val;
			info[0] = 0x010201; info[1] = 4096; info[2] = 0;
		}
		return 0;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, name, val, len);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);
	if (level == IPPROTO_IP && name >= IPVS_BASE && name <= IPVS_LAST)
		return 0;
	if (!real)
		real = dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, name, val, len);
}
