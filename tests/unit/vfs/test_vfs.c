/* test_vfs.c — confined resolution and listings against a real temporary tree.
 *
 * Owns: proving that symlinks inside the root resolve, that ".." and absolute symlinks stay inside
 * the root, that /proc magic links are refused, and that listings are complete, sorted, sized and
 * truncated as promised. Must not: touch anything outside its mkdtemp directory (except reading
 * /proc/self for the magic-link test). */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfs.h"

static char top[1024]; /* mkdtemp dir: holds outside.txt and root/ */
static char rootdir[1100];
static vfs_root root;

static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void at(char *out, size_t cap, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s", rootdir, rel);
    cr_assert(n > 0 && (size_t)n < cap);
}

static void mk(const char *rel)
{
    char p[PATH_MAX];
    at(p, sizeof(p), rel);
    cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s: %s", p, strerror(errno));
}

static void put(const char *rel, const char *data)
{
    char p[PATH_MAX];
    at(p, sizeof(p), rel);
    write_file(p, data, strlen(data));
}

static void ln(const char *target, const char *rel)
{
    char p[PATH_MAX];
    at(p, sizeof(p), rel);
    cr_assert_eq(symlink(target, p), 0, "symlink %s: %s", p, strerror(errno));
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 512)
        tmp = "/tmp";
    snprintf(top, sizeof(top), "%s/vfs-test-XXXXXX", tmp);
    cr_assert_not_null(mkdtemp(top));
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/outside.txt", top);
    write_file(p, "outside\n", 8);
    snprintf(rootdir, sizeof(rootdir), "%s/root", top);
    cr_assert_eq(mkdir(rootdir, 0755), 0);
    mk("pub");
    mk("pub/sub");
    put("pub/a.txt", "hello");
    put("pub/sub/deep.txt", "deeper file\n");
    ln("pub/a.txt", "link_ok");
    ln("pub", "link_dir");
    ln("../outside.txt", "esc_out");
    ln("../../../../../../../../outside.txt", "esc_dotdot");
    ln("../../etc", "esc_rel");
    ln("/etc/passwd", "esc_abs");
    ln("/proc/self/root", "magic_abs");
    cr_assert_eq(vfs_root_open(&root, rootdir), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    vfs_root_close(&root);
    nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static ssize_t read_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got - 1);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

TestSuite(vfs, .init = setup, .fini = teardown, .timeout = 60);

Test(vfs, rel_path)
{
    char out[16];
    cr_assert_eq(vfs_rel_path("/", out, sizeof(out)), 0);
    cr_assert_str_eq(out, ".");
    cr_assert_eq(vfs_rel_path("/a/b", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "a/b");
    cr_assert_eq(vfs_rel_path("//a", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "a");
    cr_assert_eq(vfs_rel_path("a/b", out, sizeof(out)), -EINVAL);
    cr_assert_eq(vfs_rel_path("", out, sizeof(out)), -EINVAL);
    cr_assert_eq(vfs_rel_path("/a/../b", out, sizeof(out)), -EINVAL);
    cr_assert_eq(vfs_rel_path("/..", out, sizeof(out)), -EINVAL);
    cr_assert_eq(vfs_rel_path("/..a/b..", out, sizeof(out)), 0, "'..a' is a plain name");
    cr_assert_eq(vfs_rel_path("/0123456789abcdef", out, sizeof(out)), -ENAMETOOLONG);
    cr_assert_eq(vfs_rel_path("/0123456789abcde", out, sizeof(out)), 0);
    cr_assert_eq(vfs_rel_path("/", out, 1), -ENAMETOOLONG);
}

Test(vfs, how)
{
    struct open_how h;
    vfs_how(&h, O_RDONLY, 0600);
    cr_assert_eq(h.flags, (uint64_t)(O_RDONLY | O_CLOEXEC));
    cr_assert_eq(h.mode, 0, "mode must be 0 without O_CREAT or openat2 fails with EINVAL");
    cr_assert_eq(h.resolve, (uint64_t)(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
    vfs_how(&h, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert_eq(h.mode, 0600);
    cr_assert(h.flags & O_CLOEXEC);
}

Test(vfs, root_open_errors)
{
    vfs_root r;
    char p[PATH_MAX];
    at(p, sizeof(p), "pub/a.txt");
    cr_assert_eq(vfs_root_open(&r, p), -ENOTDIR);
    cr_assert_eq(r.fd, -1);
    at(p, sizeof(p), "nope");
    cr_assert_eq(vfs_root_open(&r, p), -ENOENT);
    cr_assert_eq(vfs_root_open(&r, ""), -EINVAL);
    cr_assert(fcntl(root.fd, F_GETFD) & FD_CLOEXEC);
}

Test(vfs, stat_and_open_nested)
{
    vfs_meta m;
    cr_assert_eq(vfs_stat(&root, "/", &m), 0);
    cr_assert(S_ISDIR(m.mode));
    cr_assert_eq(vfs_stat(&root, "/pub/a.txt", &m), 0);
    cr_assert(S_ISREG(m.mode));
    cr_assert_eq(m.size, 5);
    cr_assert_eq(vfs_stat(&root, "/pub/sub/deep.txt", &m), 0);
    cr_assert_eq(m.size, 12);
    struct stat st;
    char p[PATH_MAX];
    at(p, sizeof(p), "pub/sub/deep.txt");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(m.ino, (uint64_t)st.st_ino);
    cr_assert_eq(m.dev, (uint64_t)st.st_dev);
    cr_assert_eq(m.mtime, (int64_t)st.st_mtime);
    cr_assert_eq(m.nlink, 1);
    cr_assert_eq(m.uid, st.st_uid);
    cr_assert_eq(vfs_stat(&root, "/pub/missing", &m), -ENOENT);
    cr_assert_eq(vfs_stat(&root, "/pub/a.txt/x", &m), -ENOTDIR);

    int fd;
    cr_assert_eq(vfs_open(&root, "/pub/sub/deep.txt", O_RDONLY, &fd), 0);
    char buf[64];
    read_all(fd, buf, sizeof(buf));
    cr_assert_str_eq(buf, "deeper file\n");
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);

    cr_assert_eq(vfs_open(&root, "/pub/new.bin", O_WRONLY | O_CREAT | O_EXCL, &fd), 0);
    cr_assert_eq(write(fd, "xyz", 3), 3);
    close(fd);
    cr_assert_eq(vfs_stat(&root, "/pub/new.bin", &m), 0);
    cr_assert_eq(m.size, 3);
    cr_assert_eq(vfs_open(&root, "/pub/new.bin", O_WRONLY | O_CREAT | O_EXCL, &fd), -EEXIST);
    cr_assert_eq(fd, -1);
}

Test(vfs, symlink_inside_root_works)
{
    vfs_meta m;
    cr_assert_eq(vfs_stat(&root, "/link_ok", &m), 0);
    cr_assert(S_ISREG(m.mode));
    cr_assert_eq(m.size, 5);
    cr_assert_eq(vfs_stat(&root, "/link_dir/sub/deep.txt", &m), 0);
    cr_assert_eq(m.size, 12);
    int fd;
    cr_assert_eq(vfs_open(&root, "/link_ok", O_RDONLY, &fd), 0);
    char buf[16];
    read_all(fd, buf, sizeof(buf));
    cr_assert_str_eq(buf, "hello");
    close(fd);
}

Test(vfs, dotdot_symlinks_stay_in_root)
{
    vfs_meta m;
    /* outside.txt exists one level above the root: it must not be reachable. */
    cr_assert_eq(vfs_stat(&root, "/esc_out", &m), -ENOENT);
    cr_assert_eq(vfs_stat(&root, "/esc_dotdot", &m), -ENOENT);
    cr_assert_eq(vfs_stat(&root, "/esc_rel", &m), -ENOENT);
    cr_assert_eq(vfs_stat(&root, "/pub/sub/../../esc_out", &m), -EINVAL, "'..' refused up front");
    /* A raw ".." path through the same open_how stays at the root as well. */
    struct open_how how;
    vfs_how(&how, O_RDONLY, 0);
    long fd = syscall(SYS_openat2, root.fd, "../../outside.txt", &how, sizeof(how));
    cr_assert_eq(fd, -1);
    cr_assert_eq(errno, ENOENT);
    /* Once an "outside.txt" exists inside the root, the escapes land on it: proof of confinement. */
    put("outside.txt", "inside\n");
    int ofd;
    cr_assert_eq(vfs_open(&root, "/esc_dotdot", O_RDONLY, &ofd), 0);
    char buf[32];
    read_all(ofd, buf, sizeof(buf));
    cr_assert_str_eq(buf, "inside\n");
    close(ofd);
}

Test(vfs, absolute_symlink_resolves_inside_root)
{
    vfs_meta m;
    cr_assert_eq(vfs_stat(&root, "/esc_abs", &m), -ENOENT, "/etc/passwd must not be reachable");
    int fd;
    cr_assert_eq(vfs_open(&root, "/esc_abs", O_RDONLY, &fd), -ENOENT);
    mk("etc");
    put("etc/passwd", "confined\n");
    cr_assert_eq(vfs_open(&root, "/esc_abs", O_RDONLY, &fd), 0);
    char buf[32];
    read_all(fd, buf, sizeof(buf));
    cr_assert_str_eq(buf, "confined\n");
    close(fd);
    cr_assert_eq(vfs_stat(&root, "/esc_rel/passwd", &m), 0, "../../etc resolves to <root>/etc");
    cr_assert_eq(m.size, 9);
    /* An absolute link to /proc/self/root resolves inside the root too: no such directory. */
    cr_assert_eq(vfs_stat(&root, "/magic_abs", &m), -ENOENT);
}

Test(vfs, magic_links_refused)
{
    vfs_root proc;
    if (vfs_root_open(&proc, "/proc") != 0)
        cr_skip_test("/proc is not mounted");
    vfs_meta m;
    cr_assert_eq(vfs_stat(&proc, "/self", &m), 0, "plain symlink /proc/self must resolve");
    cr_assert(S_ISDIR(m.mode));
    cr_assert_eq(vfs_stat(&proc, "/self/root", &m), -ELOOP);
    cr_assert_eq(vfs_stat(&proc, "/self/cwd", &m), -ELOOP);
    int fd;
    cr_assert_eq(vfs_open(&proc, "/self/exe", O_RDONLY, &fd), -ELOOP);
    char p[32];
    snprintf(p, sizeof(p), "/self/fd/%d", root.fd);
    cr_assert_eq(vfs_open(&proc, p, O_RDONLY, &fd), -ELOOP);
    /* Control: the same path is reachable without the resolve flags. */
    struct stat st;
    cr_assert_eq(fstatat(proc.fd, "self/root", &st, 0), 0);
    vfs_root_close(&proc);
}

static const vfs_dirent *find(const vfs_dirlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static void assert_sorted(const vfs_dirlist *l)
{
    for (size_t i = 1; i < l->n; i++)
        cr_assert(strcmp(l->v[i - 1].name, l->v[i].name) < 0, "not sorted at %zu: '%s' '%s'", i,
                  l->v[i - 1].name, l->v[i].name);
}

Test(vfs, list_small_with_odd_names)
{
    put("pub/with space.txt", "12");
    put("pub/\xc3\xbcnic\xc3\xb6"
        "de.txt",
        "1234");
    put("pub/new\nline", "123");
    put("pub/tab\there", "");
    put("pub/.hidden", "1");
    put("pub/Zeta", "1");
    ln("a.txt", "pub/rel_link");
    vfs_dirlist l;
    cr_assert_eq(vfs_list(&root, "/pub", 0, &l), 0);
    cr_assert_eq(l.n, 9);
    cr_assert_not(l.truncated);
    assert_sorted(&l);
    cr_assert_str_eq(l.v[0].name, ".hidden", "byte order: '.' < 'Z' < 'a'");
    cr_assert_str_eq(l.v[1].name, "Zeta");
    cr_assert_null(find(&l, "."));
    cr_assert_null(find(&l, ".."));
    const vfs_dirent *e = find(&l, "with space.txt");
    cr_assert_not_null(e);
    cr_assert_eq(e->meta.size, 2);
    cr_assert_eq(e->name_len, 14);
    e = find(&l, "\xc3\xbcnic\xc3\xb6"
                 "de.txt");
    cr_assert_not_null(e);
    cr_assert_eq(e->meta.size, 4);
    e = find(&l, "new\nline");
    cr_assert_not_null(e);
    cr_assert_eq(e->meta.size, 3);
    cr_assert_eq(e->name_len, 8);
    e = find(&l, "tab\there");
    cr_assert_not_null(e);
    e = find(&l, "sub");
    cr_assert_not_null(e);
    cr_assert(S_ISDIR(e->meta.mode));
    e = find(&l, "rel_link");
    cr_assert_not_null(e);
    cr_assert(S_ISLNK(e->meta.mode), "lstat-style: the link itself");
    cr_assert_eq(e->meta.size, 5, "symlink size is its target length");
    /* the last name is the UTF-8 one (0xc3 > 'z') */
    cr_assert_str_eq(l.v[l.n - 1].name, "\xc3\xbcnic\xc3\xb6"
                                        "de.txt");
    vfs_dirlist_free(&l);
    cr_assert_null(l.v);
    vfs_dirlist_free(&l); /* idempotent */
}

Test(vfs, list_errors_and_opath)
{
    vfs_dirlist l;
    cr_assert_eq(vfs_list(&root, "/pub/a.txt", 0, &l), -ENOTDIR);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(vfs_list(&root, "/nope", 0, &l), -ENOENT);
    cr_assert_eq(vfs_list_fd(-1, 0, &l), -EBADF);
    /* The root fd itself is O_PATH: listing it must work. */
    cr_assert_eq(vfs_list_fd(root.fd, 0, &l), 0);
    cr_assert_not_null(find(&l, "pub"));
    cr_assert_not_null(find(&l, "esc_abs"));
    cr_assert(S_ISLNK(find(&l, "esc_abs")->meta.mode));
    vfs_dirlist_free(&l);
    /* An empty directory gives an empty list. */
    mk("empty");
    cr_assert_eq(vfs_list(&root, "/empty", 0, &l), 0);
    cr_assert_eq(l.n, 0);
    cr_assert_not(l.truncated);
    vfs_dirlist_free(&l);
}

#define BIG_N 10000

static void make_big(void)
{
    mk("big");
    char p[PATH_MAX], data[128];
    memset(data, 'x', sizeof(data));
    /* Create in reverse so that creation order differs from sorted order. */
    for (int i = BIG_N - 1; i >= 0; i--) {
        int n = snprintf(p, sizeof(p), "%s/big/file-%05d-%s", rootdir, i, (i % 3) ? "long-name-padding" : "s");
        cr_assert(n > 0 && (size_t)n < sizeof(p));
        write_file(p, data, (size_t)(i % 101));
    }
}

Test(vfs, list_ten_thousand_sorted_with_sizes)
{
    make_big();
    vfs_dirlist l;
    cr_assert_eq(vfs_list(&root, "/big", 0, &l), 0);
    cr_assert_eq(l.n, BIG_N);
    cr_assert_not(l.truncated);
    assert_sorted(&l);
    for (size_t i = 0; i < l.n; i++) {
        int idx = atoi(l.v[i].name + 5);
        cr_assert_eq((size_t)idx, i, "entry %zu is %s", i, l.v[i].name);
        cr_assert_eq(l.v[i].meta.size, (uint64_t)(idx % 101), "size of %s", l.v[i].name);
        cr_assert(S_ISREG(l.v[i].meta.mode));
        cr_assert_eq(l.v[i].name_len, strlen(l.v[i].name));
    }
    vfs_dirlist_free(&l);
}

Test(vfs, list_truncation)
{
    make_big();
    vfs_dirlist l;
    cr_assert_eq(vfs_list(&root, "/big", 100, &l), 0);
    cr_assert_eq(l.n, 100);
    cr_assert(l.truncated);
    assert_sorted(&l);
    vfs_dirlist_free(&l);
    cr_assert_eq(vfs_list(&root, "/big", BIG_N - 1, &l), 0);
    cr_assert_eq(l.n, BIG_N - 1);
    cr_assert(l.truncated);
    vfs_dirlist_free(&l);
    cr_assert_eq(vfs_list(&root, "/big", BIG_N, &l), 0);
    cr_assert_eq(l.n, BIG_N);
    cr_assert_not(l.truncated, "exactly max_entries entries is not truncation");
    vfs_dirlist_free(&l);
    cr_assert_eq(vfs_list(&root, "/pub", 1, &l), 0);
    cr_assert_eq(l.n, 1);
    cr_assert(l.truncated);
    vfs_dirlist_free(&l);
}

Test(vfs, list_does_not_move_caller_offset)
{
    int fd;
    cr_assert_eq(vfs_open(&root, "/pub", O_RDONLY | O_DIRECTORY, &fd), 0);
    vfs_dirlist a, b;
    cr_assert_eq(vfs_list_fd(fd, 0, &a), 0);
    cr_assert_eq(vfs_list_fd(fd, 0, &b), 0);
    cr_assert_eq(a.n, 2);
    cr_assert_eq(b.n, a.n);
    close(fd);
    vfs_dirlist_free(&a);
    vfs_dirlist_free(&b);
}

/* Symlinks carry their text (readlinkat, never resolved); other entries carry none. The text
 * survives the arena growing (many links, long targets). */
Test(vfs, list_link_targets)
{
    mk("dists");
    mk("dists/bookworm");
    ln("bookworm", "dists/stable");
    ln("/etc", "dists/escape");
    ln("../../../../etc", "dists/escape-up");
    char target[300], name[64];
    memset(target, 't', sizeof(target) - 1);
    target[sizeof(target) - 1] = '\0';
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "dists/many-%03d", i);
        ln(target, name);
    }
    vfs_dirlist l;
    cr_assert_eq(vfs_list(&root, "/dists", 0, &l), 0);
    const vfs_dirent *e = find(&l, "stable");
    cr_assert_not_null(e);
    cr_assert(S_ISLNK(e->meta.mode));
    cr_assert_not_null(e->link_target);
    cr_assert_eq(e->link_len, 8);
    cr_assert_str_eq(e->link_target, "bookworm");
    cr_assert_str_eq(find(&l, "escape")->link_target, "/etc", "the text, not resolved");
    cr_assert_str_eq(find(&l, "escape-up")->link_target, "../../../../etc");
    cr_assert_null(find(&l, "bookworm")->link_target, "a directory has no link text");
    cr_assert_eq(find(&l, "bookworm")->link_len, 0);
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "many-%03d", i);
        e = find(&l, name);
        cr_assert_not_null(e);
        cr_assert_eq(e->link_len, sizeof(target) - 1);
        cr_assert_str_eq(e->link_target, target);
    }
    vfs_dirlist_free(&l);
}

static bool keep_txt(const char *name, size_t len, void *arg)
{
    int *calls = arg;
    (*calls)++;
    return len > 4 && memcmp(name + len - 4, ".txt", 4) == 0;
}

/* The filter runs before the statx and max_entries counts kept names only. */
Test(vfs, list_filter_counts_kept_names)
{
    mk("mixed");
    char p[64];
    for (int i = 0; i < 30; i++) {
        snprintf(p, sizeof(p), "mixed/n%02d.%s", i, i % 3 == 0 ? "txt" : "bin");
        put(p, "x");
    }
    int fd;
    cr_assert_eq(vfs_open(&root, "/mixed", O_RDONLY | O_DIRECTORY, &fd), 0);
    vfs_dirlist l;
    int calls = 0;
    cr_assert_eq(vfs_list_fd_filter(fd, 0, keep_txt, &calls, &l), 0);
    cr_assert_eq(l.n, 10);
    cr_assert_not(l.truncated);
    cr_assert_eq(calls, 30, "every name is offered to the filter once");
    for (size_t i = 0; i < l.n; i++)
        cr_assert(strstr(l.v[i].name, ".txt") != NULL, "%s kept", l.v[i].name);
    vfs_dirlist_free(&l);
    calls = 0;
    cr_assert_eq(vfs_list_fd_filter(fd, 10, keep_txt, &calls, &l), 0);
    cr_assert_eq(l.n, 10);
    cr_assert_not(l.truncated, "exactly max_entries matches is not truncation");
    vfs_dirlist_free(&l);
    cr_assert_eq(vfs_list_fd_filter(fd, 4, keep_txt, &calls, &l), 0);
    cr_assert_eq(l.n, 4);
    cr_assert(l.truncated, "more matches than max_entries");
    vfs_dirlist_free(&l);
    close(fd);
}

/* The _rel forms: same confinement and results as the virtual-path forms. */
Test(vfs, stat_rel_and_open_rel)
{
    vfs_meta m;
    cr_assert_eq(vfs_stat_rel(&root, "pub/a.txt", &m), 0);
    cr_assert_eq(m.size, 5);
    cr_assert_eq(vfs_stat_rel(&root, "link_ok", &m), 0, "a link inside the root resolves");
    cr_assert(S_ISREG(m.mode));
    cr_assert_eq(vfs_stat_rel(&root, "link_dir", &m), 0);
    cr_assert(S_ISDIR(m.mode));
    cr_assert_eq(vfs_stat_rel(&root, ".", &m), 0);
    cr_assert(S_ISDIR(m.mode));
    cr_assert_eq(vfs_stat_rel(&root, "esc_out", &m), -ENOENT, "an escape resolves inside the root: nothing");
    cr_assert_eq(vfs_stat_rel(&root, "esc_abs", &m), -ENOENT);
    cr_assert_eq(vfs_stat_rel(&root, "magic_abs", &m), -ENOENT);
    int fd;
    cr_assert_eq(vfs_open_rel(&root, "pub/sub/deep.txt", O_RDONLY, &fd), 0);
    char buf[64];
    cr_assert_eq(read_all(fd, buf, sizeof(buf)), 12);
    close(fd);
    vfs_root none = { .fd = -1 };
    cr_assert_eq(vfs_stat_rel(&none, "pub", &m), -EBADF);
    cr_assert_eq(vfs_open_rel(&none, "pub", O_RDONLY, &fd), -EBADF);
    cr_assert_eq(fd, -1);
}
