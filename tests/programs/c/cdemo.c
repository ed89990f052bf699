/*
 * cdemo: a C test program for Tern's WASI, built with Debian's clang and
 * wasi-libc to wasm32-wasi by tests/programs/build.sh and natively by the
 * tests. Like the Rust wasi-demo, it prints only what is the same on every
 * correct host, so its output under Tern must equal its native output.
 *
 *   cdemo args A B ...   the arguments after the command
 *   cdemo env NAME ...   the values of the named variables
 *   cdemo cat            standard input to standard output, lines numbered
 *   cdemo files DIR      stdio and POSIX file calls under DIR/cdemo
 *   cdemo clock          a nanosleep measured with clock_gettime
 *   cdemo poll           poll(2) on standard input, then its first line
 *   cdemo exit CODE      exit(CODE) after flushing
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list(const char *path) {
    DIR *d = opendir(path);
    if (!d) { perror("opendir"); return 1; }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("%s:", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
    return 0;
}

static int files(const char *root) {
    char d[512], p[600], q[600];
    snprintf(d, sizeof d, "%s/cdemo", root);
    if (mkdir(d, 0777) != 0) { perror("mkdir"); return 1; }
    snprintf(p, sizeof p, "%s/a.txt", d);
    FILE *f = fopen(p, "w");
    if (!f) { perror("fopen"); return 1; }
    for (int i = 0; i < 100; i++) fprintf(f, "line %d\n", i);
    fclose(f);
    struct stat st;
    stat(p, &st);
    printf("a.txt size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode) ? 1 : 0);
    f = fopen(p, "r");
    char line[64];
    fseek(f, 7 * 50, SEEK_SET);
    fgets(line, sizeof line, f);
    printf("at 350: %s", line);
    printf("ftell: %ld\n", ftell(f));
    fclose(f);
    int fd = open(p, O_WRONLY | O_APPEND);
    write(fd, "tail\n", 5);
    close(fd);
    f = fopen(p, "r");
    fseek(f, -5, SEEK_END);
    fgets(line, sizeof line, f);
    printf("last: %s", line);
    fclose(f);
    snprintf(q, sizeof q, "%s/sub", d);
    mkdir(q, 0777);
    snprintf(q, sizeof q, "%s/sub/b.txt", d);
    if (rename(p, q) != 0) { perror("rename"); return 1; }
    if (list(d) || (snprintf(q, sizeof q, "%s/sub", d), list(q))) return 1;
    errno = 0;
    if (fopen(p, "r") == NULL) printf("a.txt gone: %s\n", errno == ENOENT ? "ENOENT" : "other");
    printf("rmdir non-empty fails: %d\n", rmdir(q) != 0);
    snprintf(p, sizeof p, "%s/sub/b.txt", d);
    unlink(p);
    rmdir(q);
    printf("rmdir: %d\n", rmdir(d));
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: cdemo args|env|cat|files|clock|poll|exit\n"); return 2; }
    const char *cmd = argv[1];
    if (strcmp(cmd, "args") == 0) {
        printf("%d arguments\n", argc - 2);
        for (int i = 2; i < argc; i++) printf("arg %d: %s\n", i - 2, argv[i]);
    } else if (strcmp(cmd, "env") == 0) {
        for (int i = 2; i < argc; i++) {
            const char *v = getenv(argv[i]);
            printf("%s=%s\n", argv[i], v ? v : "(unset)");
        }
    } else if (strcmp(cmd, "cat") == 0) {
        char buf[256];
        int n = 0;
        while (fgets(buf, sizeof buf, stdin)) printf("%3d %s", ++n, buf);
    } else if (strcmp(cmd, "files") == 0) {
        return files(argc > 2 ? argv[2] : ".");
    } else if (strcmp(cmd, "clock") == 0) {
        struct timespec a, b, s = {0, 15 * 1000 * 1000};
        clock_gettime(CLOCK_MONOTONIC, &a);
        nanosleep(&s, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
        printf("slept at least 15ms: %d\n", ns >= 15000000LL);
        struct timespec r;
        clock_gettime(CLOCK_REALTIME, &r);
        printf("after 2020: %d\n", r.tv_sec > 1577836800);
    } else if (strcmp(cmd, "poll") == 0) {
        struct pollfd p = {0, POLLIN, 0};
        int n = poll(&p, 1, 5000);
        printf("poll: %d ready, readable %d\n", n, (p.revents & POLLIN) != 0);
        char buf[256];
        if (fgets(buf, sizeof buf, stdin)) printf("first line: %s", buf);
    } else if (strcmp(cmd, "exit") == 0) {
        printf("exiting\n");
        exit(argc > 2 ? atoi(argv[2]) : 1);
    } else {
        fprintf(stderr, "unknown command %s\n", cmd);
        return 2;
    }
    return 0;
}
