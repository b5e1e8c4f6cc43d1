/* test_engine_data.c — dialogue tests of the data channel: PORT/EPRT with the bounce rules
 * (RFC 2577), PASV/EPSV/EPSV ALL (RFC 959, RFC 2428), TYPE/STRU/MODE, REST STREAM
 * (RFC 3659), the transfer verbs RETR STOR APPE STOU LIST NLST MLSD with every open and completion
 * status, ABOR (RFC 959 §4.1.3: 426 then 226), QUIT and STAT during a transfer, and pipelining
 * behind a wait. Must not: use sockets or files. */
#include "dialogue.h"

#define EV_PASV_OK(p) .kind = FTP_EV_PASV_READY, .status = FTP_OK, .port = (p)
#define EV_OPENED(sz) .kind = FTP_EV_XFER_OPENED, .status = FTP_OK, .st = { .mode = FTP_S_IFREG | 0644u, .size = (sz) }
#define EV_OPEN_FAIL(s) .kind = FTP_EV_XFER_OPENED, .status = (s)
#define EV_DONE(s) .kind = FTP_EV_XFER_DONE, .status = (s)

static void setup_logged_in(dlg *d)
{
    dlg_setup(d, false);
    dlg_start_logged_in(d);
}

/* ---- PORT / EPRT ---- */

static void check_active_50000(dlg *d)
{
    cr_assert_eq(d->s.data_mode, FTP_DATA_ACTIVE);
    cr_assert_eq(d->s.active_addr.family, FTP_AF_INET);
    cr_assert_eq(d->s.active_addr.port, 50000);
    cr_assert_eq(memcmp(d->s.active_addr.addr, d->s.conn.peer.addr, 4), 0);
}

Test(data, port_to_control_peer_accepted)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "PORT 192,0,2,10,195,80\r\n",
          .reply = "200 PORT command successful\r\n",
          .acts = "DATA_CLOSE REPLY",
          .check = check_active_50000 },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 2577: no PORT to another host, no PORT to a port below 1024. */
Test(data, port_bounce_refused)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        C("PORT 10,0,0,1,195,80\r\n", "500 Illegal PORT command: address must be the control connection's\r\n",
          "REPLY"),
        C("PORT 192,0,2,10,0,25\r\n", "500 Illegal PORT command: port below 1024\r\n", "REPLY"),
        C("EPRT |1|10.0.0.1|50000|\r\n", "500 Illegal PORT command: address must be the control connection's\r\n",
          "REPLY"),
        C("EPRT |1|192.0.2.10|21|\r\n", "500 Illegal PORT command: port below 1024\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.data_mode, FTP_DATA_NONE, "a refused PORT never sets a target");
    dlg_teardown(&d);
}

Test(data, port_fxp_allowed_by_setting_but_not_low_ports)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.allow_fxp = true;
    dlg_start_logged_in(&d);
    dlg_line(&d, "PORT 10,0,0,1,195,80", "200 PORT command successful\r\n", "DATA_CLOSE REPLY");
    cr_assert_eq(d.s.active_addr.addr[0], 10);
    dlg_line(&d, "PORT 10,0,0,1,0,80", "500 Illegal PORT command: port below 1024\r\n", "REPLY");
    dlg_teardown(&d);
}

Test(data, port_and_eprt_syntax_errors)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        C("PORT\r\n", "501 Syntax error: PORT needs an argument\r\n", "REPLY"),
        C("PORT 1,2,3\r\n", "501 Syntax error in PORT arguments\r\n", "REPLY"),
        C("PORT 192,0,2,10,256,1\r\n", "501 Syntax error in PORT arguments\r\n", "REPLY"),
        C("EPRT 192.0.2.10\r\n", "501 Syntax error in EPRT arguments\r\n", "REPLY"),
        C("EPRT |1|192.0.2.10|0|\r\n", "501 Syntax error in EPRT arguments\r\n", "REPLY"),
        /* RFC 2428: unknown network protocol */
        C("EPRT |3|192.0.2.10|50000|\r\n", "522 Network protocol not supported, use (1,2)\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(data, eprt_ipv4_and_family_mismatch)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "EPRT |1|192.0.2.10|50000|\r\n",
          .reply = "200 EPRT command successful\r\n",
          .acts = "DATA_CLOSE REPLY",
          .check = check_active_50000 },
        /* IPv6 target on an IPv4 control connection */
        C("EPRT |2|2001:db8::1|50000|\r\n", "522 Network protocol not supported, use (1)\r\n", "REPLY"),
        /* the peer in IPv4-mapped form is the same host: stored in its IPv4 form */
        { .send = "EPRT |2|::ffff:192.0.2.10|50000|\r\n",
          .reply = "200 EPRT command successful\r\n",
          .acts = "DATA_CLOSE REPLY",
          .check = check_active_50000 },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(data, eprt_and_epsv_on_ipv6_control)
{
    dlg d;
    dlg_setup(&d, false);
    d.ci.peer = dlg_ip6_loopback(40000);
    d.ci.local = dlg_ip6_loopback(21);
    dlg_start_logged_in(&d);
    static const dstep t[] = {
        C("EPRT |2|::1|50000|\r\n", "200 EPRT command successful\r\n", "DATA_CLOSE REPLY"),
        C("PORT 127,0,0,1,195,80\r\n", "522 Network protocol not supported, use (2)\r\n", "REPLY"),
        C("PASV\r\n", "522 PASV is IPv4 only, use EPSV\r\n", "REPLY"),
        C("EPSV 1\r\n", "522 Network protocol not supported, use (2)\r\n", "REPLY"),
        C("EPSV 2\r\n", NULL, "PASV_OPEN"),
        EV("229 Entering Extended Passive Mode (|||50001|)\r\n", "REPLY", EV_PASV_OK(50001)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_line(&d, "EPSV", NULL, "PASV_OPEN");
    cr_assert_eq(dlg_action(&d, FTP_ACT_PASV_OPEN)->a.family, FTP_AF_INET6);
    dlg_teardown(&d);
}

/* ---- PASV / EPSV ---- */

static void check_pasv_family_inet(dlg *d) { cr_assert_eq(dlg_action(d, FTP_ACT_PASV_OPEN)->a.family, FTP_AF_INET); }

Test(data, pasv_announces_control_local_address)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "PASV\r\n", .acts = "PASV_OPEN", .check = check_pasv_family_inet },
        EV("227 Entering Passive Mode (192,0,2,1,195,80).\r\n", "REPLY", EV_PASV_OK(50000)),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.data_mode, FTP_DATA_PASSIVE);
    cr_assert_eq(d.s.pasv_port, 50000);
    dlg_teardown(&d);
}

Test(data, pasv_announces_configured_nat_address)
{
    dlg d;
    dlg_setup(&d, false);
    d.pasv_addr = dlg_ip4(203, 0, 113, 5, 0);
    d.cfg.pasv_address = &d.pasv_addr;
    dlg_start_logged_in(&d);
    dlg_line(&d, "PASV", NULL, "PASV_OPEN");
    dlg_event(&d, (ftp_event){ EV_PASV_OK(1025) }, "227 Entering Passive Mode (203,0,113,5,4,1).\r\n", "REPLY");
    dlg_teardown(&d);
}

Test(data, pasv_no_port_available_425)
{
    dlg d;
    setup_logged_in(&d);
    dlg_line(&d, "PASV", NULL, "PASV_OPEN");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_PASV_READY, .status = FTP_E_NOPORT }, "425 No passive port available\r\n",
              "REPLY");
    cr_assert_eq(d.s.data_mode, FTP_DATA_NONE);
    dlg_line(&d, "EPSV", NULL, "PASV_OPEN");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_PASV_READY, .status = FTP_E_IO }, "425 Cannot open passive listener\r\n",
              "REPLY");
    dlg_teardown(&d);
}

Test(data, epsv_forms)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "EPSV\r\n", .acts = "PASV_OPEN", .check = check_pasv_family_inet },
        EV("229 Entering Extended Passive Mode (|||50000|)\r\n", "REPLY", EV_PASV_OK(50000)),
        C("EPSV 1\r\n", NULL, "PASV_OPEN"),
        EV("229 Entering Extended Passive Mode (|||50002|)\r\n", "REPLY", EV_PASV_OK(50002)),
        C("EPSV 2\r\n", "522 Network protocol not supported, use (1)\r\n", "REPLY"),
        C("EPSV 7\r\n", "522 Network protocol not supported, use (1)\r\n", "REPLY"),
        C("EPSV x\r\n", "501 Syntax error in EPSV argument\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 2428 §4: after EPSV ALL, PORT, PASV and EPRT are refused (503 chosen); EPSV still works. */
Test(data, epsv_all_refuses_other_data_commands)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        C("epsv all\r\n", "200 EPSV ALL ok\r\n", "REPLY"),
        C("PORT 192,0,2,10,195,80\r\n", "503 EPSV ALL in effect: only EPSV is allowed\r\n", "REPLY"),
        C("EPRT |1|192.0.2.10|50000|\r\n", "503 EPSV ALL in effect: only EPSV is allowed\r\n", "REPLY"),
        C("PASV\r\n", "503 EPSV ALL in effect: only EPSV is allowed\r\n", "REPLY"),
        C("EPSV\r\n", NULL, "PASV_OPEN"),
        EV("229 Entering Extended Passive Mode (|||50000|)\r\n", "REPLY", EV_PASV_OK(50000)),
        C("RETR f\r\n", NULL, "XFER_OPEN"),
        EV("150 Opening ASCII mode data connection for /f\r\n", "REPLY XFER_START", EV_OPENED(3)),
        EV("226 Transfer complete\r\n", "REPLY", EV_DONE(FTP_OK)),
        C("PASV\r\n", "503 EPSV ALL in effect: only EPSV is allowed\r\n", "REPLY"), /* survives transfers */
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* ---- TYPE / STRU / MODE / REST / ALLO ---- */

Test(data, type_stru_mode)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        C("TYPE I\r\n", "200 Switching to Binary mode\r\n", "REPLY"),
        C("TYPE A\r\n", "200 Switching to ASCII mode\r\n", "REPLY"),
        C("type i\r\n", "200 Switching to Binary mode\r\n", "REPLY"),
        C("TYPE A N\r\n", "200 Switching to ASCII mode\r\n", "REPLY"),
        C("TYPE L 8\r\n", "200 Switching to Binary mode\r\n", "REPLY"),
        C("TYPE E\r\n", "504 TYPE not implemented for that parameter\r\n", "REPLY"),
        C("TYPE A T\r\n", "504 TYPE not implemented for that parameter\r\n", "REPLY"),
        C("TYPE A C\r\n", "504 TYPE not implemented for that parameter\r\n", "REPLY"),
        C("TYPE L 7\r\n", "504 TYPE not implemented for that parameter\r\n", "REPLY"),
        C("TYPE X\r\n", "501 Unknown TYPE\r\n", "REPLY"),
        C("TYPE I X\r\n", "501 Unknown TYPE\r\n", "REPLY"),
        C("TYPE A Q\r\n", "501 Unknown TYPE\r\n", "REPLY"),
        C("TYPE\r\n", "501 Syntax error: TYPE needs an argument\r\n", "REPLY"),
        C("STRU F\r\n", "200 Structure set to F\r\n", "REPLY"),
        C("STRU R\r\n", "504 Structure not supported\r\n", "REPLY"),
        C("STRU P\r\n", "504 Structure not supported\r\n", "REPLY"),
        C("STRU X\r\n", "501 Unknown structure\r\n", "REPLY"),
        C("MODE S\r\n", "200 Mode set to S\r\n", "REPLY"),
        C("MODE B\r\n", "504 Mode not supported\r\n", "REPLY"),
        C("MODE C\r\n", "504 Mode not supported\r\n", "REPLY"),
        C("MODE Z\r\n", "504 Mode not supported\r\n", "REPLY"),
        C("MODE X\r\n", "501 Unknown mode\r\n", "REPLY"),
        C("ALLO 1000\r\n", "202 ALLO not needed\r\n", "REPLY"),
        C("REST 100\r\n", "350 Restart position accepted (100)\r\n", "REPLY"),
        C("REST x\r\n", "501 REST needs a decimal offset\r\n", "REPLY"),
        C("REST -1\r\n", "501 REST needs a decimal offset\r\n", "REPLY"),
        C("REST 99999999999999999999999\r\n", "501 REST needs a decimal offset\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_not(d.s.type_ascii, "TYPE L 8 was the last accepted TYPE");
    dlg_teardown(&d);
}

/* ---- transfers ---- */

static void check_retr_open(dlg *d)
{
    const dact *a = dlg_action(d, FTP_ACT_XFER_OPEN);
    cr_assert_eq(a->a.xfer, FTP_XFER_RETR);
    cr_assert_eq(a->a.offset, 100);
    cr_assert_eq(a->a.flags, 0);
}

static void check_retr_start_passive(dlg *d)
{
    const dact *a = dlg_action(d, FTP_ACT_XFER_START);
    cr_assert_eq(a->a.xfer, FTP_XFER_RETR);
    cr_assert_eq(a->a.data_mode, FTP_DATA_PASSIVE);
    cr_assert_not(a->a.protect);
    cr_assert_eq(a->a.flags, 0);
    cr_assert_eq(d->s.data_mode, FTP_DATA_NONE, "the listener is used up by the transfer");
}

/* RFC 3659 REST STREAM + RFC 959 RETR: 150 then 226; REST offset and data channel used up. */
Test(data, retr_binary_with_rest)
{
    dlg d;
    setup_logged_in(&d);
    dlg_line(&d, "TYPE I", "200 Switching to Binary mode\r\n", "REPLY");
    dlg_pasv(&d);
    static const dstep t[] = {
        C("REST 100\r\n", "350 Restart position accepted (100)\r\n", "REPLY"),
        { .send = "RETR readme.txt\r\n", .acts = "XFER_OPEN", .str = "/readme.txt", .check = check_retr_open },
        { .is_event = true,
          .ev = { EV_OPENED(1234) },
          .reply = "150 Opening BINARY mode data connection for /readme.txt (1234 bytes)\r\n",
          .acts = "REPLY XFER_START",
          .check = check_retr_start_passive },
        EV("226 Transfer complete\r\n", "REPLY", EV_DONE(FTP_OK), .bytes = 1134),
        C("RETR readme.txt\r\n", "425 Use PORT, PASV or EPSV first\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.rest_offset, 0);
    dlg_teardown(&d);
}

static void check_ascii_active(dlg *d)
{
    const dact *a = dlg_action(d, FTP_ACT_XFER_START);
    cr_assert_eq(a->a.flags, FTP_XF_ASCII);
    cr_assert_eq(a->a.data_mode, FTP_DATA_ACTIVE);
    cr_assert_eq(a->a.addr.port, 50000);
    cr_assert_eq(a->a.addr.addr[3], 10);
}

Test(data, retr_ascii_active)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        C("PORT 192,0,2,10,195,80\r\n", "200 PORT command successful\r\n", "DATA_CLOSE REPLY"),
        C("RETR /pub/a.txt\r\n", NULL, "XFER_OPEN"),
        { .is_event = true,
          .ev = { EV_OPENED(10) },
          .reply = "150 Opening ASCII mode data connection for /pub/a.txt\r\n",
          .acts = "REPLY XFER_START",
          .check = check_ascii_active },
        EV("226 Transfer complete\r\n", "REPLY", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(data, transfer_without_data_channel_425)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        C("RETR f\r\n", "425 Use PORT, PASV or EPSV first\r\n", "REPLY"),
        C("STOR f\r\n", "425 Use PORT, PASV or EPSV first\r\n", "REPLY"),
        C("LIST\r\n", "425 Use PORT, PASV or EPSV first\r\n", "REPLY"),
        C("NLST\r\n", "425 Use PORT, PASV or EPSV first\r\n", "REPLY"),
        C("MLSD\r\n", "425 Use PORT, PASV or EPSV first\r\n", "REPLY"),
        C("RETR\r\n", "501 Syntax error: RETR needs an argument\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* Open failures map to 550/553/451; the data channel set up before stays for the next try. */
Test(data, retr_open_failures)
{
    static const struct {
        ftp_status st;
        const char *reply;
    } cases[] = {
        { FTP_E_NOENT, "550 No such file or directory\r\n" },
        { FTP_E_ACCES, "550 Permission denied\r\n" },
        { FTP_E_ISDIR, "550 Is a directory\r\n" },
        { FTP_E_NOTDIR, "550 Not a directory\r\n" },
        { FTP_E_NAME, "553 File name not allowed\r\n" },
        { FTP_E_IO, "451 Local error in processing\r\n" },
        { FTP_E_LIMIT, "451 Server limit reached\r\n" },
        { FTP_E_UNSUPPORTED, "502 Not supported by this server\r\n" },
    };
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dlg_line(&d, "REST 5", ANY_REPLY, "REPLY");
        dlg_line(&d, "RETR f", NULL, "XFER_OPEN");
        dlg_event(&d, (ftp_event){ EV_OPEN_FAIL(cases[i].st) }, cases[i].reply, "REPLY");
        cr_assert_eq(d.s.data_mode, FTP_DATA_PASSIVE);
        cr_assert_eq(d.s.rest_offset, 0);
    }
    dlg_teardown(&d);
}

/* Completion statuses → reply codes (RFC 959 §4.2, RFC 4217). */
Test(data, transfer_completion_statuses)
{
    static const struct {
        ftp_status st;
        const char *reply;
    } cases[] = {
        { FTP_OK, "226 Transfer complete\r\n" },
        { FTP_E_CONN, "425 Can't open data connection\r\n" },
        { FTP_E_TLS, "425 Can't open data connection\r\n" },
        { FTP_E_TLS_NOT_RESUMED, "425 Data connection refused: TLS session of data connection not resumed\r\n" },
        { FTP_E_ABORTED, "426 Connection closed; transfer aborted\r\n" },
        { FTP_E_RESET, "426 Data connection broken; transfer aborted\r\n" },
        { FTP_E_TIMEOUT, "426 Data connection stalled; transfer aborted\r\n" },
        { FTP_E_TRUNCATED, "426 Upload truncated (no TLS close_notify); not stored\r\n" },
        { FTP_E_IO, "451 Local error in processing\r\n" },
        { FTP_E_NOSPC, "452 Insufficient storage space\r\n" },
        { FTP_E_DQUOT, "552 Disk quota exceeded\r\n" },
        { FTP_E_ACCES, "550 Permission denied\r\n" },
        { (ftp_status)999, "451 Local error in processing\r\n" },
    };
    dlg d;
    setup_logged_in(&d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dlg_pasv(&d);
        dlg_line(&d, "STOR up.bin", NULL, "XFER_OPEN");
        dlg_event(&d, (ftp_event){ EV_OPENED(0) }, "150 Opening ASCII mode data connection for /up.bin\r\n",
                  "REPLY XFER_START");
        dlg_event(&d, (ftp_event){ EV_DONE(cases[i].st) }, cases[i].reply, "REPLY");
        cr_assert_eq(d.s.pending, FTP_WAIT_NONE);
    }
    dlg_teardown(&d);
}

static void check_stor_rest(dlg *d)
{
    const dact *a = dlg_action(d, FTP_ACT_XFER_OPEN);
    cr_assert_eq(a->a.xfer, FTP_XFER_STOR);
    cr_assert_eq(a->a.offset, 4096);
}

static void check_appe(dlg *d) { cr_assert_eq(dlg_action(d, FTP_ACT_XFER_OPEN)->a.xfer, FTP_XFER_APPE); }

Test(data, stor_with_rest_and_appe)
{
    dlg d;
    setup_logged_in(&d);
    dlg_line(&d, "TYPE I", ANY_REPLY, "REPLY");
    dlg_pasv(&d);
    static const dstep t[] = {
        C("REST 4096\r\n", "350 Restart position accepted (4096)\r\n", "REPLY"),
        { .send = "STOR big.iso\r\n", .acts = "XFER_OPEN", .str = "/big.iso", .check = check_stor_rest },
        EV("150 Opening BINARY mode data connection for /big.iso\r\n", "REPLY XFER_START", EV_OPENED(4096)),
        EV("226 Transfer complete\r\n", "REPLY", EV_DONE(FTP_OK)),
        C("EPSV\r\n", NULL, "PASV_OPEN"),
        EV("229 Entering Extended Passive Mode (|||50000|)\r\n", "REPLY", EV_PASV_OK(50000)),
        { .send = "APPE log.txt\r\n", .acts = "XFER_OPEN", .str = "/log.txt", .check = check_appe },
        EV("150 Opening BINARY mode data connection for /log.txt\r\n", "REPLY XFER_START", EV_OPENED(0)),
        EV("452 Insufficient storage space\r\n", "REPLY", EV_DONE(FTP_E_NOSPC)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 959 STOU: 150 FILE: name. str = directory, str2 = name hint. */
Test(data, stou_names)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        { .send = "STOU\r\n", .acts = "XFER_OPEN", .str = "/", .str2 = "" },
        EV("150 FILE: ftp.0001\r\n", "REPLY XFER_START", EV_OPENED(0), .str = "ftp.0001"),
        EV("226 Transfer complete\r\n", "REPLY", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_pasv(&d);
    static const dstep t2[] = {
        { .send = "STOU upload/report.pdf\r\n", .acts = "XFER_OPEN", .str = "/upload", .str2 = "report.pdf" },
        EV("150 FILE: report.pdf.1\r\n", "REPLY XFER_START", EV_OPENED(0), .str = "report.pdf.1"),
        EV("226 Transfer complete\r\n", "REPLY", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t2, N_STEPS(t2));
    dlg_pasv(&d);
    static const dstep t3[] = {
        { .send = "STOU x\r\n", .acts = "XFER_OPEN", .str = "/", .str2 = "x" },
    };
    dlg_run(&d, t3, N_STEPS(t3));
    dlg_teardown(&d);
}

static void check_list_la(dlg *d)
{
    const dact *a = dlg_action(d, FTP_ACT_XFER_OPEN);
    cr_assert_eq(a->a.xfer, FTP_XFER_LIST);
    cr_assert_eq(a->a.flags, FTP_XF_LIST_ALL | FTP_XF_LIST_LONG, "listings are never FTP_XF_ASCII");
}

static void check_list_start(dlg *d)
{
    cr_assert_eq(dlg_action(d, FTP_ACT_XFER_START)->a.flags, FTP_XF_LIST_ALL | FTP_XF_LIST_LONG);
}

static void check_list_d(dlg *d) { cr_assert_eq(dlg_action(d, FTP_ACT_XFER_OPEN)->a.flags, FTP_XF_LIST_DIR); }

static void check_nlst(dlg *d)
{
    const dact *a = dlg_action(d, FTP_ACT_XFER_OPEN);
    cr_assert_eq(a->a.xfer, FTP_XFER_NLST);
    cr_assert_eq(a->a.flags, FTP_XF_LIST_LONG);
}

Test(data, list_and_nlst_options)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        { .send = "LIST -la /pub\r\n", .acts = "XFER_OPEN", .str = "/pub", .check = check_list_la },
        { .is_event = true,
          .ev = { EV_OPENED(0) },
          .reply = "150 Here comes the directory listing\r\n",
          .acts = "REPLY XFER_START",
          .check = check_list_start },
        EV("226 Directory send OK\r\n", "REPLY", EV_DONE(FTP_OK)),
        C("PASV\r\n", NULL, "PASV_OPEN"),
        EV("227 Entering Passive Mode (192,0,2,1,195,80).\r\n", "REPLY", EV_PASV_OK(50000)),
        /* "-X" is not made of known option letters: it is a name (ftp_list_options) */
        { .send = "LIST -d -X\r\n", .acts = "XFER_OPEN", .str = "/-X", .check = check_list_d },
        EV("550 No such file or directory\r\n", "REPLY", EV_OPEN_FAIL(FTP_E_NOENT)),
        { .send = "NLST -l pub\r\n", .acts = "XFER_OPEN", .str = "/pub", .check = check_nlst },
        EV("150 Here comes the directory listing\r\n", "REPLY XFER_START", EV_OPENED(0)),
        EV("226 Directory send OK\r\n", "REPLY", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 3659 §7.2: MLSD on a file → 501. */
Test(data, mlsd_on_file_501)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        { .send = "MLSD readme.txt\r\n", .acts = "XFER_OPEN", .str = "/readme.txt" },
        EV("501 Not a directory\r\n", "REPLY", EV_OPEN_FAIL(FTP_E_NOTDIR)),
        { .send = "MLSD\r\n", .acts = "XFER_OPEN", .str = "/" },
        EV("150 Here comes the directory listing\r\n", "REPLY XFER_START", EV_OPENED(0)),
        EV("226 Directory send OK\r\n", "REPLY", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* ---- ABOR ---- */

Test(data, abor_without_transfer_226)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    dlg_line(&d, "ABOR", "226 No transfer in progress\r\n", "DATA_CLOSE REPLY");
    cr_assert_eq(d.s.data_mode, FTP_DATA_NONE);
    dlg_teardown(&d);
}

static void start_retr(dlg *d)
{
    dlg_pasv(d);
    dlg_line(d, "RETR big", NULL, "XFER_OPEN");
    dlg_event(d, (ftp_event){ EV_OPENED(1000000) }, "150 Opening ASCII mode data connection for /big\r\n",
              "REPLY XFER_START");
}

/* RFC 959 §4.1.3: ABOR during a transfer → 426 for the transfer, then 226 for ABOR. */
Test(data, abor_during_transfer_426_then_226)
{
    dlg d;
    setup_logged_in(&d);
    start_retr(&d);
    static const dstep t[] = {
        C("ABOR\r\n", NULL, "XFER_ABORT"),
        C("ABOR\r\n", NULL, ""), /* a second ABOR is absorbed */
        EV("426 Connection closed; transfer aborted\r\n226 Abort successful\r\n", "REPLY DATA_CLOSE REPLY",
           EV_DONE(FTP_E_ABORTED)),
        C("NOOP\r\n", "200 NOOP ok\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 1123 §4.1.3.3: clients send IAC IP, IAC DM (Synch) before ABOR. */
Test(data, abor_with_telnet_synch)
{
    dlg d;
    setup_logged_in(&d);
    start_retr(&d);
    static const dstep t[] = {
        C("\xff\xf4\xff\xf2"
          "ABOR\r\n",
          NULL, "XFER_ABORT"),
        EV("426 Connection closed; transfer aborted\r\n226 Abort successful\r\n", "REPLY DATA_CLOSE REPLY",
           EV_DONE(FTP_E_ABORTED)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(data, abor_after_transfer_already_complete)
{
    dlg d;
    setup_logged_in(&d);
    start_retr(&d);
    dlg_line(&d, "ABOR", NULL, "XFER_ABORT");
    dlg_event(&d, (ftp_event){ EV_DONE(FTP_OK) }, "226 Transfer complete\r\n226 Abort successful\r\n",
              "REPLY DATA_CLOSE REPLY");
    dlg_teardown(&d);
}

Test(data, abor_while_opening)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        C("RETR big\r\n", NULL, "XFER_OPEN"),
        C("ABOR\r\n", NULL, "XFER_ABORT"),
        /* the open completes anyway: no 150, no data connection */
        EV("426 Connection closed; transfer aborted\r\n226 Abort successful\r\n", "REPLY DATA_CLOSE REPLY",
           EV_OPENED(10)),
        EV(NULL, "", EV_DONE(FTP_E_ABORTED)), /* stale: ignored */
        C("RETR big\r\n", "425 Use PORT, PASV or EPSV first\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(data, abor_while_opening_answered_by_xfer_done)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    dlg_line(&d, "RETR big", NULL, "XFER_OPEN");
    dlg_line(&d, "ABOR", NULL, "XFER_ABORT");
    dlg_event(&d, (ftp_event){ EV_DONE(FTP_E_ABORTED) },
              "426 Connection closed; transfer aborted\r\n226 Abort successful\r\n", "REPLY DATA_CLOSE REPLY");
    dlg_event(&d, (ftp_event){ EV_OPENED(10) }, NULL, ""); /* stale */
    dlg_teardown(&d);
}

/* ---- QUIT, STAT and other lines during a transfer ---- */

/* RFC 959 §4.1.1: QUIT → 221 and close after the pending transfer ends. */
Test(data, quit_during_transfer_waits_for_result)
{
    dlg d;
    setup_logged_in(&d);
    start_retr(&d);
    static const dstep t[] = {
        C("QUIT\r\n", NULL, ""),
        EV("226 Transfer complete\r\n221 Goodbye\r\n", "REPLY CLOSE", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

Test(data, quit_while_opening_after_failure)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    dlg_line(&d, "RETR nothere", NULL, "XFER_OPEN");
    dlg_line(&d, "QUIT", NULL, "");
    dlg_event(&d, (ftp_event){ EV_OPEN_FAIL(FTP_E_NOENT) }, "550 No such file or directory\r\n221 Goodbye\r\n",
              "REPLY CLOSE");
    dlg_teardown(&d);
}

Test(data, stat_during_transfer)
{
    dlg d;
    setup_logged_in(&d);
    start_retr(&d);
    dlg_line(&d, "STAT", "211 Transfer in progress\r\n", "REPLY");
    dlg_line(&d, "stat  ", "211 Transfer in progress\r\n", "REPLY");
    dlg_event(&d, (ftp_event){ EV_DONE(FTP_OK) }, "226 Transfer complete\r\n", "REPLY");
    dlg_teardown(&d);
}

/* Other commands wait for the end of the transfer (held, then run in order). */
Test(data, other_commands_wait_for_transfer_end)
{
    dlg d;
    setup_logged_in(&d);
    start_retr(&d);
    static const dstep t[] = {
        { .send = "NOOP\r\n", .acts = "" },           /* taken and held by the engine */
        { .send = "PWD\r\n", .acts = "", .keep = 5 }, /* stays with the driver */
        { .send = "STAT /x\r\n", .acts = "", .keep = 14 },
        EV("226 Transfer complete\r\n200 NOOP ok\r\n257 \"/\" is the current directory\r\n", "REPLY REPLY DIR_READ",
           EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(ftp_engine_busy(&d.s));
    dlg_teardown(&d);
}

Test(data, busy_reports_held_line_during_transfer)
{
    dlg d;
    setup_logged_in(&d);
    start_retr(&d);
    cr_assert_not(ftp_engine_busy(&d.s), "during a transfer the engine still looks at the next line");
    dlg_line(&d, "NOOP", NULL, "");
    cr_assert(ftp_engine_busy(&d.s));
    dlg_teardown(&d);
}

/* Pipelined PASV + RETR: RETR waits for the listener, then runs. */
Test(data, pipelined_pasv_retr)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "PASV\r\nRETR f\r\n", .acts = "PASV_OPEN", .keep = 8 },
        { .is_event = true,
          .ev = { EV_PASV_OK(50000) },
          .reply = "227 Entering Passive Mode (192,0,2,1,195,80).\r\n",
          .acts = "REPLY XFER_OPEN",
          .str = "/f" },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* ---- wildcards, options, TYPE A offsets, REST past the end, truncated listings ---- */

/* The strings of the first `kind` action produced by one line, read before the harness resets
 * out (dialogue.h keeps str/str2 only). "(none)" stands for UINT32_MAX. */
typedef struct open_strs {
    char str[512], pattern[512], prefix[512];
    unsigned flags;
} open_strs;

static open_strs line_action(dlg *d, const char *line, ftp_action_kind kind)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\r\n", line);
    ftp_out_reset(&d->out);
    size_t n = strlen(buf);
    cr_assert_eq(ftp_engine_input(&d->s, (const uint8_t *)buf, n, &d->out), n);
    open_strs r;
    memset(&r, 0, sizeof r);
    bool found = false;
    for (size_t i = 0; i < d->out.n && !found; i++) {
        const ftp_action *a = &d->out.act[i];
        if (a->kind != kind) continue;
        found = true;
        snprintf(r.str, sizeof r.str, "%s", ftp_out_str(&d->out, a->str_off));
        snprintf(r.pattern, sizeof r.pattern, "%s",
                 a->pattern_off == UINT32_MAX ? "(none)" : ftp_out_str(&d->out, a->pattern_off));
        snprintf(r.prefix, sizeof r.prefix, "%s",
                 a->prefix_off == UINT32_MAX ? "(none)" : ftp_out_str(&d->out, a->prefix_off));
        r.flags = a->flags;
    }
    cr_assert(found, "no %s action for \"%s\"", ftp_action_name(kind), line);
    ftp_out_reset(&d->out);
    return r;
}

static void expect_open(dlg *d, const char *line, const char *str, const char *pattern, const char *prefix)
{
    open_strs r = line_action(d, line, FTP_ACT_XFER_OPEN);
    cr_assert_str_eq(r.str, str, "%s: str", line);
    cr_assert_str_eq(r.pattern, pattern, "%s: pattern", line);
    cr_assert_str_eq(r.prefix, prefix, "%s: prefix", line);
    dlg_event(d, (ftp_event){ EV_OPEN_FAIL(FTP_E_NOENT) }, "550 No such file or directory\r\n", "REPLY");
}

/* RFC 959 §4.1.3 "multiple get": mget sends NLST with a pattern; the last component is matched
 * by the driver (pattern_off) in the resolved directory (str); NLST names keep the client's
 * prefix (prefix_off, contract E2). */
Test(data, nlst_list_wildcards_pattern_and_prefix)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    expect_open(&d, "NLST *.txt", "/", "*.txt", "");
    expect_open(&d, "NLST d2/*.txt", "/d2", "*.txt", "d2/");
    expect_open(&d, "NLST /pub/f?[0-9]", "/pub", "f?[0-9]", "/pub/");
    expect_open(&d, "NLST d2/d3", "/d2/d3", "(none)", "d2/d3");
    expect_open(&d, "NLST", "/", "(none)", "");
    expect_open(&d, "NLST -l d2", "/d2", "(none)", "d2");
    expect_open(&d, "LIST -l *.c", "/", "*.c", "(none)");
    expect_open(&d, "LIST d*/x", "/d*/x", "(none)", "(none)"); /* wildcards before the last '/' are literal */
    /* the directory part is resolved like any path: never above the root */
    expect_open(&d, "NLST ../../*", "/", "*", "../../");
    expect_open(&d, "MLSD *.txt", "/*.txt", "(none)", "(none)"); /* RFC 3659 §7.2: MLSD never globs */
    dlg_teardown(&d);
}

Test(data, dot_pattern_lists_dot_files)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    open_strs r = line_action(&d, "NLST .*", FTP_ACT_XFER_OPEN);
    cr_assert_str_eq(r.pattern, ".*");
    cr_assert(r.flags & FTP_XF_LIST_ALL);
    dlg_teardown(&d);
}

/* Only known letters make an option word; "--" ends the options: "NLST -dash.txt" is a file. */
Test(data, list_options_known_letters_and_double_dash)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    expect_open(&d, "NLST -dash.txt", "/-dash.txt", "(none)", "-dash.txt");
    expect_open(&d, "NLST -- -l", "/-l", "(none)", "-l");
    expect_open(&d, "NLST -x", "/-x", "(none)", "-x");
    open_strs r = line_action(&d, "LIST -la -d sub", FTP_ACT_XFER_OPEN);
    cr_assert_str_eq(r.str, "/sub");
    cr_assert_eq(r.flags, FTP_XF_LIST_ALL | FTP_XF_LIST_LONG | FTP_XF_LIST_DIR);
    dlg_event(&d, (ftp_event){ EV_OPEN_FAIL(FTP_E_NOENT) }, "550 No such file or directory\r\n", "REPLY");
    r = line_action(&d, "LIST -", FTP_ACT_XFER_OPEN);
    cr_assert_str_eq(r.str, "/-");
    dlg_teardown(&d);
}

/* RFC 3659 §2.2: spaces after the one separator belong to the pathname. */
Test(data, leading_spaces_are_part_of_the_path)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        { .send = "RETR  leadsp\r\n", .acts = "XFER_OPEN", .str = "/ leadsp" },
        EV("550 No such file or directory\r\n", "REPLY", EV_OPEN_FAIL(FTP_E_NOENT)),
        { .send = "NLST  leadsp\r\n", .acts = "XFER_OPEN", .str = "/ leadsp" },
        EV("550 No such file or directory\r\n", "REPLY", EV_OPEN_FAIL(FTP_E_NOENT)),
        { .send = "LIST -l  leadsp\r\n", .acts = "XFER_OPEN", .str = "/ leadsp" },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 3659 §5.3: REST counts bytes of the file as stored; TYPE A sends other bytes. */
Test(data, type_a_refuses_rest_and_offset_retr)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        C("REST 100\r\n", "504 Restart is not available in TYPE A; use TYPE I\r\n", "REPLY"),
        C("REST 0\r\n", "350 Restart position accepted (0)\r\n", "REPLY"),
        C("TYPE I\r\n", "200 Switching to Binary mode\r\n", "REPLY"),
        C("REST 100\r\n", "350 Restart position accepted (100)\r\n", "REPLY"),
        C("TYPE A\r\n", "200 Switching to ASCII mode\r\n", "REPLY"),
        C("RETR f\r\n", "504 Restart is not available in TYPE A; use TYPE I\r\n", "REPLY"),
        /* REST was used up by the refused RETR; the data channel stays */
        C("RETR f\r\n", NULL, "XFER_OPEN"),
        /* TYPE A: the 150 announces no byte count (the bytes sent differ from the size) */
        EV("150 Opening ASCII mode data connection for /f\r\n", "REPLY XFER_START", EV_OPENED(18)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

static void check_offset_100(dlg *d) { cr_assert_eq(dlg_action(d, FTP_ACT_XFER_OPEN)->a.offset, 100); }

/* RFC 3659 §5.3: a REST marker past the end of the file is 554, before any 150. */
Test(data, rest_beyond_end_of_file_554)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        C("TYPE I\r\n", "200 Switching to Binary mode\r\n", "REPLY"),
        C("REST 100\r\n", "350 Restart position accepted (100)\r\n", "REPLY"),
        { .send = "RETR f\r\n", .acts = "XFER_OPEN", .check = check_offset_100 },
        /* the driver's own answer */
        EV("554 Restart position beyond end of file\r\n", "REPLY", EV_OPEN_FAIL(FTP_E_RANGE)),
        C("REST 100\r\n", "350 Restart position accepted (100)\r\n", "REPLY"),
        C("RETR f\r\n", NULL, "XFER_OPEN"),
        /* a driver that did not check: the engine compares with st.size itself and lets the
         * driver close the file it opened */
        EV("554 Restart position beyond end of file\r\n", "REPLY XFER_ABORT DATA_CLOSE", EV_OPENED(18)),
        C("RETR f\r\n", "425 Use PORT, PASV or EPSV first\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.rest_offset, 0);
    dlg_teardown(&d);
}

Test(data, rest_at_exact_end_of_file_is_allowed)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        C("TYPE I\r\n", "200 Switching to Binary mode\r\n", "REPLY"),
        C("REST 18\r\n", "350 Restart position accepted (18)\r\n", "REPLY"),
        C("RETR f\r\n", NULL, "XFER_OPEN"),
        EV("150 Opening BINARY mode data connection for /f (18 bytes)\r\n", "REPLY XFER_START", EV_OPENED(18)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* A listing cut by --list-max-entries is not a success: 451 with the count (contract E2). */
Test(data, truncated_listing_451_with_count)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        C("NLST\r\n", NULL, "XFER_OPEN"),
        EV("150 Here comes the directory listing\r\n", "REPLY XFER_START", EV_OPENED(0)),
        EV("451 Listing truncated after 1000 entries (server limit)\r\n", "REPLY", EV_DONE(FTP_OK), .truncated = true,
           .n_entries = 1000),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 3659 §2.2 / RFC 854: a 0xFF byte of a path is doubled in the 150 reply. */
Test(data, iac_in_path_doubled_in_150)
{
    dlg d;
    setup_logged_in(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        C("TYPE I\r\n", "200 Switching to Binary mode\r\n", "REPLY"),
        { .send = "RETR a\xff\xff"
                  "b\r\n",
          .acts = "XFER_OPEN",
          .str = "/a\xff"
                 "b" },
        EV("150 Opening BINARY mode data connection for /a\xff\xff"
           "b (1 bytes)\r\n",
           "REPLY XFER_START", EV_OPENED(1)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}
