/* replay_main.c — a main() for the fuzz harnesses when built without libFuzzer (gcc, ctest): runs
 * LLVMFuzzerTestOneInput once over every regular file named on the command line or found in the
 * directories named there (not recursive), and prints how many inputs ran.
 * Owns: nothing but corpus replay. Must not: mutate inputs; a crash is the harness's own abort. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned ran = 0;
    int bad = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            perror(argv[a]);
            bad = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[a]) == 0)
                ran++;
            else
                bad = 1;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) {
            perror(argv[a]);
            bad = 1;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            if (snprintf(path, sizeof path, "%s/%s", argv[a], de->d_name) >= (int)sizeof path)
                continue;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (run_file(path) == 0)
                ran++;
            else
                bad = 1;
        }
        closedir(d);
    }
    printf("replayed %u inputs\n", ran);
    if (ran == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    return bad;
}
