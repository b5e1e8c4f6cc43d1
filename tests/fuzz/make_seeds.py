#!/usr/bin/env python3
"""make_seeds.py — writes the seed corpus of fuzz_engine.c (tests/fuzz/corpus/engine/).

Each seed is a realistic dialogue in the harness's op encoding (see the comment atop
fuzz_engine.c): 3 config bytes, then feed ops (control bytes from the client) and answer ops (the
result of the action the engine waits for). Run it from anywhere; it rewrites the seeds it owns and
leaves other files alone. Must not: depend on anything but the Python standard library."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "engine")

# config byte 0
IMPLICIT, CCC, TLS_REQ, ANON, TLS, PROT_P_REQ, FXP, ANON_EXEMPT = (1 << i for i in range(8))
# config byte 2
V6, NAT, NODELAY = 0x04, 0x08, 0x10
# modes table index in fuzz_engine.c
FILE, DIR, LINK = 0, 1, 2
OK = 0xFF
E_NOENT, E_ACCES, E_EXIST, E_NOTDIR = 1, 2, 3, 4
E_NOPORT, E_CONN, E_TLS, E_RESET, E_ABORTED = 12, 13, 14, 16, 17
R, W, D, M, N = 1, 2, 4, 8, 16


class Seed:
    def __init__(self, c0=0, line_max=0, c2=NODELAY):
        self.b = bytearray([c0, line_max, c2])

    def feed(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        while data:
            chunk, data = data[:255], data[255:]
            self.b += bytes([0x00, len(chunk)]) + chunk
        return self

    def cmd(self, *lines):
        for line in lines:
            self.feed(line + "\r\n")
        return self

    def answer(self, status=OK, perms=0, anonymous=False, port=0, mode=FILE, size=0,
               entries=(), s="", alt=1, raw_kind=None, bytes_=0, truncated=False):
        op = 0x03 | (raw_kind << 2) if raw_kind is not None else 0x02 | (alt << 2)
        f = perms | (0x20 if anonymous else 0) | (0x40 if truncated else 0)
        self.b += bytes([op & 0xFF, status, f]) + struct.pack(">H", port)
        self.b += bytes([mode]) + struct.pack(">H", size & 0xFFFF) + bytes([0])
        self.b += bytes([0, 1, 0, 7]) + struct.pack(">I", bytes_)
        self.b += bytes([len(entries)])
        for name, m in entries:
            nb = name.encode("latin-1")[:31]
            self.b += bytes([len(nb)]) + nb + bytes([m])
        sb = s.encode("latin-1")[:15]
        self.b += bytes([len(sb)]) + sb
        return self

    def login(self, user="user", pw="secret", perms=R | W | D | M | N, anonymous=False):
        return self.cmd("USER " + user, "PASS " + pw).answer(perms=perms, anonymous=anonymous)


LISTING = [(".", DIR), ("..", DIR), ("readme.txt", FILE), (".hidden", FILE), ("pub", DIR),
           ("link", LINK), ("we\"ird name", FILE), ("cr\r\nlf", FILE)]


def seeds():
    s = {}
    s["anon_pasv_retr"] = (Seed(ANON | TLS).cmd("USER anonymous", "PASS guest@")
        .answer(perms=R, anonymous=True)
        .cmd("SYST", "PWD", "TYPE I", "CWD pub").answer(mode=DIR)
        .cmd("SIZE readme.txt").answer(size=1234).cmd("MDTM readme.txt").answer()
        .cmd("PASV").answer(port=50000).cmd("RETR readme.txt").answer(size=1234).answer(bytes_=1234)
        .cmd("STOR x").answer().answer().cmd("QUIT"))
    s["auth_tls_full"] = (Seed(TLS | TLS_REQ).cmd("USER early").cmd("AUTH TLS").answer(alt=1)
        .cmd("PBSZ 0", "PROT P").login()
        .cmd("FEAT", "OPTS UTF8 ON", "OPTS MLST type;size;UNIX.mode;", "EPSV").answer(port=50001)
        .cmd("MLSD").answer(mode=DIR).answer(entries=LISTING).answer(bytes_=300)
        .cmd("PASV").answer(port=50002).cmd("LIST -a").answer(mode=DIR).answer(entries=LISTING).answer()
        .cmd("PASV").answer(port=50003).cmd("NLST").answer(mode=DIR).answer(entries=LISTING).answer()
        .cmd("MLST readme.txt").answer(size=5).cmd("STAT").cmd("STAT /").answer(entries=LISTING)
        .cmd("QUIT"))
    s["auth_tls_pipelined"] = (Seed(TLS).feed("AUTH TLS\r\nUSER sneaky\r\n").answer(alt=1)
        .cmd("USER a", "PASS b").answer(perms=R).cmd("PWD"))
    s["auth_ssl_fail"] = Seed(TLS).cmd("AUTH SSL").answer(alt=0).cmd("NOOP")
    s["auth_tls_p"] = Seed(TLS).cmd("AUTH TLS-P").answer(alt=1).login().cmd("PROT C", "PROT S", "PROT P")
    s["implicit"] = (Seed(IMPLICIT | TLS).answer(alt=1).login()
        .cmd("PBSZ 0", "PROT P", "PORT 127,0,0,1,200,10").cmd("RETR a").answer(size=10).answer(bytes_=10))
    s["implicit_fail"] = Seed(IMPLICIT | TLS).answer(alt=0)
    s["ccc_rein"] = (Seed(TLS | CCC).cmd("AUTH TLS").answer(alt=1).cmd("PBSZ 0", "PROT P").login()
        .cmd("CCC").answer().cmd("PWD", "REIN").cmd("USER x", "AUTH TLS").answer(alt=1).cmd("REIN")
        .answer().cmd("USER y"))
    s["ccc_refused"] = Seed(TLS).cmd("AUTH TLS").answer(alt=1).login().cmd("CCC", "PROT E", "PBSZ 1")
    s["login_failures"] = (Seed(TLS, c2=0x02).cmd("USER bob", "PASS a").answer(status=E_ACCES)
        .answer().cmd("PASS b").cmd("USER bob", "PASS c").answer(status=E_ACCES).answer()
        .cmd("USER bob", "PASS d").answer(status=E_ACCES).answer())
    s["tls_required_refusals"] = (Seed(TLS | TLS_REQ | ANON | ANON_EXEMPT)
        .cmd("USER bob", "PASS x", "USER anonymous", "PASS a@b").answer(perms=R, anonymous=True)
        .cmd("RETR x", "HELP", "SITE HELP"))
    s["prot_p_required"] = (Seed(TLS | TLS_REQ | PROT_P_REQ).cmd("AUTH TLS").answer(alt=1).login()
        .cmd("PASV").answer(port=50010).cmd("RETR a", "PBSZ 0", "PROT P", "RETR a").answer(size=3).answer())
    s["active_eprt"] = (Seed(ANON, c2=NODELAY).login()
        .cmd("EPRT |1|127.0.0.1|6275|", "EPRT |2|::1|6275|", "EPRT |3|x|1|", "EPRT |1|10.0.0.1|6275|")
        .cmd("PORT 127,0,0,1,0,80", "PORT 10,0,0,1,20,20", "PORT 1,2,3", "PORT 127,0,0,1,100,100")
        .cmd("LIST").answer(mode=DIR).answer(entries=LISTING).answer(status=E_CONN))
    s["fxp_v6"] = (Seed(FXP, c2=NODELAY | V6 | NAT).login()
        .cmd("EPRT |2|2001:db8::1|6275|", "PASV", "EPSV 2").answer(port=1025)
        .cmd("EPSV ALL", "PASV", "PORT 1,2,3,4,5,6", "EPSV").answer(port=1026))
    s["abort_during_transfer"] = (Seed(0).login().cmd("PASV").answer(port=40000).cmd("RETR big")
        .answer(size=60000).feed("\xff\xf4\xff\xf2ABOR\r\n").cmd("STAT").answer(status=E_ABORTED).cmd("NOOP"))
    s["quit_during_transfer"] = (Seed(0).login().cmd("PASV").answer(port=40000).cmd("STOR up")
        .answer().cmd("QUIT").answer(bytes_=99))
    s["rest_stou_appe"] = (Seed(0).login().cmd("TYPE A", "REST 100", "PASV").answer(port=40001)
        .cmd("RETR f").answer(size=1000).answer().cmd("REST 12abc", "PASV").answer(port=40002)
        .cmd("STOU").answer(s="f.1").answer().cmd("PASV").answer(port=40003).cmd("APPE f").answer().answer())
    s["file_ops"] = (Seed(0).login()
        .cmd("MKD new \"dir\"").answer().cmd("RMD old").answer(status=E_NOENT)
        .cmd("DELE f").answer().cmd("RNFR a").answer().cmd("RNTO b").answer(status=E_EXIST)
        .cmd("RNTO c", "MFMT 20231114221320 f").answer().cmd("MFMT 2023 f")
        .cmd("CDUP", "XPWD", "CWD ../../..").answer(mode=DIR).cmd("CWD file").answer(mode=FILE)
        .cmd("SIZE dir").answer(mode=DIR).cmd("MDTM nope").answer(status=E_NOENT))
    s["readonly_anon"] = (Seed(ANON).login(user="ftp", pw="x", perms=R, anonymous=True)
        .cmd("STOR a", "DELE a", "MKD d", "RNFR a", "SITE CHMOD 777 a", "ALLO 10", "MODE S", "STRU F",
             "MODE B", "STRU R", "TYPE E", "TYPE L 8", "LANG", "LANG FR", "HOST example.org"))
    s["not_logged_in"] = Seed(0).cmd("PWD", "LIST", "PASV", "RETR x", "PASS nouser", "FOO", "", "   ")
    s["long_line"] = (Seed(0, line_max=8).cmd("NOOP", "USER " + "A" * 40))
    s["long_line_default"] = Seed(0).cmd("NOOP").feed("X" * 5000)
    s["iac_telnet"] = (Seed(0).feed("\xff\xfb\x01\xff\xfd\x03US\xff\xf1ER bob\r\n")
        .feed("\xff\xfa\x18\x00xterm\xff\xf0PASS \xff\xffpw\r\n").answer(perms=R).cmd("NOOP"))
    s["nul_and_cr"] = Seed(0).login().feed("CWD a\x00b\r\nMKD x\ry\r\nPWD\n").answer().answer()
    s["split_bytes"] = Seed(0).feed("US").feed("ER a\r").feed("\nPA").feed("SS b\r\n").answer(perms=R)
    s["rein_plain"] = Seed(0).login().cmd("REIN", "PWD", "USER a", "REIN", "PASS b")
    s["pasv_noport"] = (Seed(0).login().cmd("PASV").answer(status=E_NOPORT).cmd("LIST")
        .cmd("EPSV").answer(port=50000).cmd("LIST").answer(status=E_NOTDIR))
    s["timeouts"] = Seed(0).cmd("USER a").answer(raw_kind=12)
    s["idle_timeout"] = Seed(0).login().answer(raw_kind=11)
    s["stray_events"] = (Seed(0).answer(raw_kind=0).answer(raw_kind=7).answer(raw_kind=9)
        .answer(raw_kind=3).cmd("NOOP"))
    s["dir_truncated"] = (Seed(0).login().cmd("PASV").answer(port=40000).cmd("LIST")
        .answer(mode=DIR).answer(entries=LISTING * 1, truncated=True).answer(status=E_RESET)
        .cmd("STAT .").answer(entries=LISTING, truncated=True))
    # The input pump's queue jump: lines queued during a transfer, then ABOR/STAT/QUIT behind them.
    s["queue_jump_abor"] = (Seed(0).login().cmd("TYPE I", "PASV").answer(port=40000).cmd("RETR big")
        .answer(size=60000).feed("NOOP\r\nPWD\r\nSTAT\r\nSYST\r\nABOR\r\n").answer(status=E_ABORTED)
        .cmd("NOOP"))
    s["queue_jump_ip_synch"] = (Seed(0).login().cmd("PASV").answer(port=40000).cmd("RETR big")
        .answer(size=60000).feed("NOOP\r\n\xff").feed("\xf4\xff").feed("\xf2AB").feed("OR\r\n")
        .answer(status=E_ABORTED).cmd("NOOP"))
    s["queue_jump_during_open"] = (Seed(0).login().cmd("PASV").answer(port=40000).cmd("RETR big")
        .feed("CWD pub\r\nABOR\r\nSTAT\r\n").answer(size=60000).answer(mode=DIR))
    s["queue_jump_quit"] = (Seed(0).login().cmd("PASV").answer(port=40000).cmd("LIST")
        .answer(mode=DIR).feed("NOOP\r\nQUIT\r\nNOOP\r\n").answer(entries=LISTING).answer())
    s["queue_no_jump_over_auth"] = (Seed(TLS).login().cmd("PASV").answer(port=40000).cmd("RETR big")
        .answer(size=60000).feed("NOOP\r\nAUTH TLS\r\nABOR\r\n").answer().answer(alt=1).cmd("NOOP"))
    s["xfer_tls_fail"] = (Seed(TLS).cmd("AUTH TLS").answer(alt=1).cmd("PBSZ 0", "PROT P").login()
        .cmd("PASV").answer(port=40000).cmd("RETR a").answer(size=1).answer(status=E_TLS))
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, seed in seeds().items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes(seed.b))
    print(f"wrote {len(seeds())} seeds to {OUT}")


if __name__ == "__main__":
    main()
