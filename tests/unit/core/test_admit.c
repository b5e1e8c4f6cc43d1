/* test_admit.c — admission (core_admit.c): --max-clients over all peers, --max-per-ip per host,
 * tickets given back, the table emptied, and refusals that never block.
 *
 * Owns: driving core_admit_* with plain ftp_addr values and one socketpair for the refusal.
 * Must not: start a server or open network sockets. */
#include <criterion/criterion.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core_admit.h"
#include "core_log.h"

static ftp_addr v4(uint8_t last, uint16_t port)
{
    ftp_addr a;
    memset(&a, 0, sizeof(a));
    a.family = FTP_AF_INET;
    a.addr[0] = 192;
    a.addr[1] = 0;
    a.addr[2] = 2;
    a.addr[3] = last;
    a.port = port;
    return a;
}

Test(admit, per_ip_limit_counts_hosts_not_ports)
{
    core_admit a;
    core_admit_init(&a, 100, 2);
    ftp_addr p1 = v4(1, 40000), p2 = v4(1, 40001), p3 = v4(1, 40002), other = v4(2, 40000);
    cr_assert_eq(core_admit_take(&a, &p1), CORE_ADMIT_OK);
    cr_assert_eq(core_admit_take(&a, &p2), CORE_ADMIT_OK);
    cr_assert_eq(core_admit_take(&a, &p3), CORE_ADMIT_MAX_PER_IP);
    cr_assert_eq(core_admit_take(&a, &other), CORE_ADMIT_OK);
    cr_assert_eq(core_admit_clients(&a), 3, "a refusal counts nothing");
    core_admit_release(&a, &p1);
    cr_assert_eq(core_admit_take(&a, &p3), CORE_ADMIT_OK, "a released ticket is free again");
    core_admit_release(&a, &p2);
    core_admit_release(&a, &p3);
    core_admit_release(&a, &other);
    cr_assert_eq(core_admit_clients(&a), 0);
    for (unsigned i = 0; i < CORE_ADMIT_BUCKETS; i++)
        cr_assert_null(a.buckets[i], "the per-IP table keeps no empty entry");
    core_admit_destroy(&a);
}

Test(admit, max_clients_over_all_hosts)
{
    core_admit a;
    core_admit_init(&a, 3, 64);
    for (uint8_t i = 1; i <= 3; i++) {
        ftp_addr p = v4(i, 1000);
        cr_assert_eq(core_admit_take(&a, &p), CORE_ADMIT_OK);
    }
    ftp_addr p4 = v4(4, 1000);
    cr_assert_eq(core_admit_take(&a, &p4), CORE_ADMIT_MAX_CLIENTS);
    cr_assert_eq(core_admit_clients(&a), 3);
    ftp_addr p1 = v4(1, 1000);
    core_admit_release(&a, &p1);
    cr_assert_eq(core_admit_take(&a, &p4), CORE_ADMIT_OK);
    cr_assert_str_eq(core_admit_verdict_name(CORE_ADMIT_MAX_CLIENTS), "max-clients limit reached");
    core_admit_destroy(&a);
}

Test(admit, refusal_sends_421_unless_implicit_and_closes)
{
    core_log_set_level(CORE_LOG_ERROR); /* the refusal's WARN line is not what is tested here */
    core_stats st;
    memset(&st, 0, sizeof(st));
    ftp_addr p = v4(9, 5555);
    for (int implicit = 0; implicit <= 1; implicit++) {
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        core_admit_refuse(sv[0], CORE_ADMIT_MAX_PER_IP, &p, implicit, &st);
        char buf[128];
        ssize_t n = read(sv[1], buf, sizeof(buf) - 1);
        cr_assert_geq(n, 0);
        buf[n] = '\0';
        if (implicit)
            cr_assert_eq(n, 0, "an implicit FTPS client gets no clear text: '%s'", buf);
        else
            cr_assert(strncmp(buf, "421 ", 4) == 0, "refusal reply: '%s'", buf);
        close(sv[1]);
    }
    cr_assert_eq(atomic_load(&st.refused), 2);
}
