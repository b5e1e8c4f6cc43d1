/* core_net.c — sockaddr ↔ ftp_addr conversions and per-connection socket options for the session
 * driver (see core_net.h). Must not: open sockets or block. */
#include "core_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core_log.h"

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void core_net_from_sockaddr(ftp_addr *out, const struct sockaddr *sa)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        out->family = FTP_AF_INET;
        memcpy(out->addr, &in->sin_addr, 4);
        out->port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        out->port = ntohs(in6->sin6_port);
        if (memcmp(in6->sin6_addr.s6_addr, v4mapped_prefix, 12) == 0) {
            out->family = FTP_AF_INET;
            memcpy(out->addr, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            out->family = FTP_AF_INET6;
            memcpy(out->addr, in6->sin6_addr.s6_addr, 16);
        }
    }
}

socklen_t core_net_to_sockaddr(struct sockaddr_storage *ss, const ftp_addr *a)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == FTP_AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, a->addr, 4);
        in->sin_port = htons(a->port);
        return sizeof(*in);
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    memcpy(in6->sin6_addr.s6_addr, a->addr, 16);
    in6->sin6_port = htons(a->port);
    return sizeof(*in6);
}

void core_net_format(char *out, size_t cap, const ftp_addr *a)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->family == FTP_AF_INET) {
        inet_ntop(AF_INET, a->addr, ip, sizeof(ip));
        snprintf(out, cap, "%s:%u", ip, a->port);
    } else {
        inet_ntop(AF_INET6, a->addr, ip, sizeof(ip));
        snprintf(out, cap, "[%s]:%u", ip, a->port);
    }
}

socklen_t core_net_parse_ip(struct sockaddr_storage *ss, const char *text, unsigned port)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        return sizeof(*in);
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        return sizeof(*in6);
    }
    return 0;
}

int core_net_socket_addrs(int fd, ftp_addr *peer, ftp_addr *local)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (peer) {
        if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
        core_net_from_sockaddr(peer, (struct sockaddr *)&ss);
    }
    len = sizeof(ss);
    if (local) {
        if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
        core_net_from_sockaddr(local, (struct sockaddr *)&ss);
    }
    return 0;
}

/* One option; the first failure of each option in the process is logged, later ones are not. */
static int set_opt(int fd, int level, int opt, const char *name, atomic_bool *warned)
{
    int one = 1;
    if (setsockopt(fd, level, opt, &one, sizeof(one)) == 0) return 0;
    int err = errno;
    if (!atomic_exchange(warned, true))
        core_log(CORE_LOG_WARN, "setsockopt(%s) failed: %s (carrying on; logged once)", name, strerror(err));
    return -err;
}

static atomic_bool warned_nodelay, warned_oobinline;

int core_net_tune_control(int fd)
{
    int rc = set_opt(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", &warned_nodelay);
    int rc2 = set_opt(fd, SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", &warned_oobinline);
    return rc < 0 ? rc : rc2;
}

int core_net_tune_data(int fd)
{
    return set_opt(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", &warned_nodelay);
}
