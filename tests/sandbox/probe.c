/* probe.c - a static test program that runs inside a compartment and tries
 * one thing (often an attack) per invocation. It prints "OK <detail>" and
 * exits 0 when the action succeeded, or "ERR <ERRNO-NAME> <detail>" and
 * exits 1 when it was refused; 2 on bad usage. Built with -static so an app
 * root needs nothing but this file. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <stddef.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
        int e = errno;
        printf("ERR %s %s\n", strerrorname_np(e) ? strerrorname_np(e) : "E?", what);
        fflush(stdout);
        return 1;
}

static int ok(const char *detail)
{
        printf("OK %s\n", detail);
        fflush(stdout);
        return 0;
}

/* Looks a name up in /etc/hosts (what the runtime wrote for the app). */
static int lookup(const char *name, int want_family, struct sockaddr_storage *ss, socklen_t *len)
{
        FILE *f = fopen("/etc/hosts", "r");
        char line[512];
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                char *save = NULL, *addr = strtok_r(line, " \t\n", &save), *n;
                if (!addr || addr[0] == '#')
                        continue;
                while ((n = strtok_r(NULL, " \t\n", &save))) {
                        if (strcasecmp(n, name) != 0)
                                continue;
                        struct sockaddr_in *in = (void *)ss;
                        struct sockaddr_in6 *in6 = (void *)ss;
                        memset(ss, 0, sizeof(*ss));
                        if (want_family != AF_INET6 && inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
                                in->sin_family = AF_INET;
                                *len = sizeof(*in);
                                fclose(f);
                                return 0;
                        }
                        if (want_family != AF_INET && inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
                                in6->sin6_family = AF_INET6;
                                *len = sizeof(*in6);
                                fclose(f);
                                return 0;
                        }
                }
        }
        fclose(f);
        errno = ENOENT;
        return -1;
}

static int to_addr(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
        struct sockaddr_in *in = (void *)ss;
        struct sockaddr_in6 *in6 = (void *)ss;
        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                *len = sizeof(*in);
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                *len = sizeof(*in6);
        } else if (lookup(host, AF_UNSPEC, ss, len) < 0) {
                return -1;
        }
        uint16_t p = htons((uint16_t)atoi(port));
        if (ss->ss_family == AF_INET)
                in->sin_port = p;
        else
                in6->sin6_port = p;
        return 0;
}

static int do_connect(const char *host, const char *port, int type, int repeat)
{
        struct sockaddr_storage ss;
        socklen_t len;
        char buf[128] = {0};
        if (to_addr(host, port, &ss, &len) < 0)
                return fail("resolve");
        for (int i = 0; i < repeat; i++) {
                int s = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
                if (s < 0)
                        return fail("socket");
                if (connect(s, (struct sockaddr *)&ss, len) < 0)
                        return fail("connect");
                if (repeat == 1 && type == SOCK_STREAM) {
                        ssize_t n = read(s, buf, sizeof(buf) - 1);
                        if (n < 0)
                                return fail("read");
                        buf[n > 0 ? n : 0] = '\0';
                        buf[strcspn(buf, "\n")] = '\0';
                }
                close(s);
        }
        return ok(buf[0] ? buf : "connected");
}

/* Resolves NAME now, waits, then connects to that (possibly stale) address;
 * then resolves again and connects to the fresh answer. */
static int do_connect_later(const char *name, const char *port, const char *secs)
{
        struct sockaddr_storage ss;
        socklen_t len;
        char txt[64];
        for (int round = 0; round < 2; round++) {
                if (to_addr(name, port, &ss, &len) < 0)
                        return fail("resolve");
                inet_ntop(ss.ss_family, ss.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
                                                                : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
                          txt, sizeof(txt));
                printf("RESOLVED %s\n", txt);
                fflush(stdout);
                if (round == 0)
                        sleep((unsigned)atoi(secs));
                int s = socket(ss.ss_family, SOCK_STREAM, 0);
                if (s < 0)
                        return fail("socket");
                if (connect(s, (struct sockaddr *)&ss, len) < 0)
                        fail(txt);
                else
                        ok(txt);
                close(s);
        }
        return 0;
}

/* N connects to HOST:PORT; prints the median and mean connect() time. */
static int cmp_ll(const void *a, const void *b)
{
        long long x = *(const long long *)a, y = *(const long long *)b;
        return x < y ? -1 : x > y;
}

static int do_connect_bench(const char *host, const char *port, int n)
{
        struct sockaddr_storage ss;
        socklen_t len;
        char msg[96];
        long long *t = calloc((size_t)n, sizeof(*t)), sum = 0;
        if (!t || n < 1)
                return fail("args");
        if (to_addr(host, port, &ss, &len) < 0)
                return fail("resolve");
        for (int i = 0; i < n; i++) {
                struct timespec a, b;
                int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s < 0)
                        return fail("socket");
                clock_gettime(CLOCK_MONOTONIC, &a);
                if (connect(s, (struct sockaddr *)&ss, len) < 0)
                        return fail("connect");
                clock_gettime(CLOCK_MONOTONIC, &b);
                close(s);
                t[i] = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
                sum += t[i];
        }
        qsort(t, (size_t)n, sizeof(*t), cmp_ll);
        snprintf(msg, sizeof(msg), "median_ns=%lld mean_ns=%lld n=%d", t[n / 2], sum / n, n);
        free(t);
        return ok(msg);
}

/* Two connects to STUCK (a peer that does not finish the handshake) in
 * threads, then, once both threads are inside connect(), one to LIVE from
 * the main thread. Prints "LIVE OK <greeting> pending=N" (N: stuck connects
 * not yet returned when the live one had its answer), then "STUCK<i> OK" or
 * "STUCK<i> ERR <ERRNO-NAME>" for each stuck connect. */
struct stall {
        struct sockaddr_storage ss;
        socklen_t len;
        pid_t tid;
        int err;
};

static int stall_done;

static void *stall_thread(void *arg)
{
        struct stall *st = arg;
        int s = socket(st->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
                st->err = errno;
        } else {
                __atomic_store_n(&st->tid, gettid(), __ATOMIC_SEQ_CST);
                st->err = connect(s, (struct sockaddr *)&st->ss, st->len) < 0 ? errno : 0;
                close(s);
        }
        __atomic_add_fetch(&stall_done, 1, __ATOMIC_SEQ_CST);
        return NULL;
}

/* 1 when thread `tid` of this process is blocked in connect(). */
static int in_connect(pid_t tid)
{
        char path[64], line[128];
        snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
        FILE *f = fopen(path, "r");
        if (!f)
                return 0;
        int r = fgets(line, sizeof(line), f) && atol(line) == SYS_connect;
        fclose(f);
        return r;
}

static int do_connect_stall(const char *stuck_host, const char *stuck_port, const char *live_host,
                            const char *live_port)
{
        struct stall st[2];
        pthread_t th[2];
        struct sockaddr_storage ss;
        socklen_t len;
        char buf[128] = {0}, what[32];

        memset(st, 0, sizeof(st));
        if (to_addr(stuck_host, stuck_port, &st[0].ss, &st[0].len) < 0 || to_addr(live_host, live_port, &ss, &len) < 0)
                return fail("resolve");
        st[1].ss = st[0].ss;
        st[1].len = st[0].len;
        for (int i = 0; i < 2; i++)
                if ((errno = pthread_create(&th[i], NULL, stall_thread, &st[i])) != 0)
                        return fail("pthread_create");
        /* both stuck connects are under way before the live one starts */
        for (int i = 0; i < 2; i++) {
                int n = 0;
                for (;;) {
                        pid_t tid = __atomic_load_n(&st[i].tid, __ATOMIC_SEQ_CST);
                        if (__atomic_load_n(&stall_done, __ATOMIC_SEQ_CST) > 0) {
                                errno = EPROTO;
                                return fail("stuck connect returned before the live one started");
                        }
                        if (tid && in_connect(tid))
                                break;
                        if (++n > 10000) {
                                errno = ETIMEDOUT;
                                return fail("threads never entered connect");
                        }
                        usleep(1000);
                }
        }
        int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return fail("socket");
        if (connect(s, (struct sockaddr *)&ss, len) < 0)
                return fail("live connect");
        ssize_t n = read(s, buf, sizeof(buf) - 1);
        int pending = 2 - __atomic_load_n(&stall_done, __ATOMIC_SEQ_CST);
        if (n < 0)
                return fail("live read");
        close(s);
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        printf("LIVE OK %s pending=%d\n", buf, pending);
        for (int i = 0; i < 2; i++) {
                pthread_join(th[i], NULL);
                snprintf(what, sizeof(what), "STUCK%d", i);
                if (st[i].err == 0)
                        printf("%s OK\n", what);
                else
                        printf("%s ERR %s\n", what, strerrorname_np(st[i].err) ? strerrorname_np(st[i].err) : "E?");
        }
        fflush(stdout);
        return 0;
}

static void fmt_flags(int s, char *out, size_t cap)
{
        int fd = fcntl(s, F_GETFD), fl = fcntl(s, F_GETFL);
        if (fd < 0 || fl < 0) {
                snprintf(out, cap, "error:%s", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
                return;
        }
        const char *c = fd & FD_CLOEXEC ? "cloexec" : "", *nb = fl & O_NONBLOCK ? "nonblock" : "";
        snprintf(out, cap, "%s%s%s", c, *c && *nb ? "," : "", nb);
        if (!*out)
                snprintf(out, cap, "-");
}

/* A TCP socket with the flags MODE names (a comma list of "cloexec",
 * "nonblock" given to socket(), "fcntl-cloexec", "fcntl-nonblock" set
 * afterwards, or "none"), connected to HOST:PORT, a server that answers a
 * line with a line. Prints "FLAGS before=F after=F replaced=0|1", for a
 * non-blocking socket "CONNECT 0|EINPROGRESS", "WRITABLE" and
 * "READ EAGAIN" (nothing sent yet), then "OK <reply>". */
static int do_sockflags(const char *host, const char *port, const char *mode)
{
        struct sockaddr_storage ss;
        socklen_t len;
        char before[64], after[64], buf[128] = {0};
        int type = SOCK_STREAM;

        if (to_addr(host, port, &ss, &len) < 0)
                return fail("resolve");
        if (strstr(mode, "cloexec") && !strstr(mode, "fcntl-cloexec"))
                type |= SOCK_CLOEXEC;
        if (strstr(mode, "nonblock") && !strstr(mode, "fcntl-nonblock"))
                type |= SOCK_NONBLOCK;
        int s = socket(ss.ss_family, type, 0);
        if (s < 0)
                return fail("socket");
        if (strstr(mode, "fcntl-cloexec") && fcntl(s, F_SETFD, fcntl(s, F_GETFD) | FD_CLOEXEC) < 0)
                return fail("F_SETFD");
        if (strstr(mode, "fcntl-nonblock") && fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK) < 0)
                return fail("F_SETFL");
        fmt_flags(s, before, sizeof(before));
        int nonblock = (fcntl(s, F_GETFL) & O_NONBLOCK) != 0;
        struct stat st0, st1;
        if (fstat(s, &st0) < 0)
                return fail("fstat");
        int r = connect(s, (struct sockaddr *)&ss, len);
        if (r < 0 && !(nonblock && errno == EINPROGRESS))
                return fail("connect");
        int in_progress = r < 0;
        fmt_flags(s, after, sizeof(after));
        if (fstat(s, &st1) < 0)
                return fail("fstat");
        /* the runtime put its own socket in place of the app's */
        printf("FLAGS before=%s after=%s replaced=%d\n", before, after, st0.st_ino != st1.st_ino);
        if (nonblock) {
                struct pollfd p = { .fd = s, .events = POLLOUT };
                int soerr = 0;
                socklen_t sl = sizeof(soerr);
                printf("CONNECT %s\n", in_progress ? "EINPROGRESS" : "0");
                if (poll(&p, 1, 10000) != 1 || !(p.revents & POLLOUT))
                        return fail("poll POLLOUT");
                if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                        return fail("SO_ERROR");
                if (soerr) {
                        errno = soerr;
                        return fail("connect completion");
                }
                printf("WRITABLE\n");
                if (read(s, buf, sizeof(buf)) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        printf("READ EAGAIN\n");
                else
                        printf("READ DID NOT FAIL WITH EAGAIN\n");
        }
        if (write(s, "ping\n", 5) != 5)
                return fail("write");
        if (nonblock) {
                struct pollfd p = { .fd = s, .events = POLLIN };
                if (poll(&p, 1, 10000) != 1)
                        return fail("poll POLLIN");
        }
        ssize_t n = read(s, buf, sizeof(buf) - 1);
        if (n < 0)
                return fail("read");
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        close(s);
        return ok(buf[0] ? buf : "connected");
}

/* Binds to a (declared) server port, then tries to reach HOST:PORT with a
 * TCP fast-open send instead of connect(). */
static int do_tfo(const char *bindport, const char *host, const char *port)
{
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(bindport)) };
        struct sockaddr_storage ss;
        socklen_t len;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
                return fail("socket");
        if (bind(s, (struct sockaddr *)&in, sizeof(in)) < 0)
                return fail("bind");
        if (to_addr(host, port, &ss, &len) < 0)
                return fail("resolve");
        if (sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len) < 0)
                return fail("sendto MSG_FASTOPEN");
        return ok("sent");
}

static int do_listen(const char *port)
{
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (s < 0)
                return fail("socket");
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(s, (struct sockaddr *)&in, sizeof(in)) < 0)
                return fail("bind");
        if (listen(s, 4) < 0)
                return fail("listen");
        printf("LISTENING\n");
        fflush(stdout);
        int c = accept(s, NULL, NULL);
        if (c < 0)
                return fail("accept");
        if (write(c, "hello from app\n", 15) != 15)
                return fail("write");
        close(c);
        return ok("served");
}

static int do_fill(const char *path)
{
        static char chunk[65536];
        long long total = 0;
        char msg[64];
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
                return fail("open");
        memset(chunk, 'x', sizeof(chunk));
        for (;;) {
                ssize_t n = write(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        snprintf(msg, sizeof(msg), "after %lld bytes", total);
                        return fail(msg);
                }
                total += n;
                if (total > (1LL << 32))
                        break;
        }
        snprintf(msg, sizeof(msg), "%lld bytes", total);
        return ok(msg);
}

static int do_forkbomb(void)
{
        pid_t kids[4096];
        int n = 0;
        char msg[64];
        while (n < 4096) {
                pid_t p = fork();
                if (p < 0)
                        break;
                if (p == 0) {
                        pause();
                        _exit(0);
                }
                kids[n++] = p;
        }
        int e = errno;
        for (int i = 0; i < n; i++)
                kill(kids[i], SIGKILL);
        for (int i = 0; i < n; i++)
                waitpid(kids[i], NULL, 0);
        snprintf(msg, sizeof(msg), "after %d processes", n);
        if (n >= 4096)
                return ok(msg);
        errno = e;
        return fail(msg);
}

static int do_memhog(const char *mb_s)
{
        long mb = atol(mb_s);
        char msg[64];
        for (long i = 0; i < mb; i++) {
                char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        snprintf(msg, sizeof(msg), "after %ld MiB", i);
                        return fail(msg);
                }
                memset(p, 0xa5, 1 << 20);
        }
        snprintf(msg, sizeof(msg), "%ld MiB", mb);
        return ok(msg);
}

static int do_status(void)
{
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        if (!f)
                return fail("/proc/self/status");
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp:", 8) ||
                    !strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "Groups:", 7))
                        fputs(line, stdout);
        fclose(f);
        return ok("status");
}

int main(int argc, char **argv)
{
        const char *cmd = argc > 1 ? argv[1] : "";
        const char *a1 = argc > 2 ? argv[2] : "", *a2 = argc > 3 ? argv[3] : "";
        char buf[256];

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!strcmp(cmd, "true"))
                return 0;
        if (!strcmp(cmd, "id")) {
                snprintf(buf, sizeof(buf), "uid=%d euid=%d gid=%d egid=%d", getuid(), geteuid(), getgid(), getegid());
                return ok(buf);
        }
        if (!strcmp(cmd, "status"))
                return do_status();
        if (!strcmp(cmd, "hostname")) {
                gethostname(buf, sizeof(buf));
                return ok(buf);
        }
        if (!strcmp(cmd, "read")) {
                int fd = open(a1, O_RDONLY);
                if (fd < 0)
                        return fail("open");
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                if (n < 0)
                        return fail("read");
                buf[n] = '\0';
                buf[strcspn(buf, "\n")] = '\0';
                return ok(buf);
        }
        if (!strcmp(cmd, "write")) {
                int fd = open(a1, O_WRONLY | O_CREAT | O_APPEND, 0644);
                if (fd < 0)
                        return fail("open");
                const char *text = *a2 ? a2 : "x";
                if (write(fd, text, strlen(text)) < 0 || fsync(fd) < 0)
                        return fail("write");
                return ok("written");
        }
        if (!strcmp(cmd, "ls")) {
                struct stat st;
                if (stat(a1, &st) < 0)
                        return fail("stat");
                return ok("exists");
        }
        if (!strcmp(cmd, "fill"))
                return do_fill(a1);
        if (!strcmp(cmd, "connect"))
                return do_connect(a1, a2, SOCK_STREAM, argc > 4 ? atoi(argv[4]) : 1);
        if (!strcmp(cmd, "connect-bench"))
                return do_connect_bench(a1, a2, argc > 4 ? atoi(argv[4]) : 1000);
        if (!strcmp(cmd, "connect-later"))
                return do_connect_later(a1, a2, argc > 4 ? argv[4] : "1");
        if (!strcmp(cmd, "connect-stall"))
                return do_connect_stall(a1, a2, argc > 4 ? argv[4] : "", argc > 5 ? argv[5] : "");
        if (!strcmp(cmd, "sockflags"))
                return do_sockflags(a1, a2, argc > 4 ? argv[4] : "none");
        if (!strcmp(cmd, "connect-udp"))
                return do_connect(a1, a2, SOCK_DGRAM, 1);
        if (!strcmp(cmd, "sendto")) {
                struct sockaddr_storage ss;
                socklen_t len;
                if (to_addr(a1, a2, &ss, &len) < 0)
                        return fail("resolve");
                int s = socket(ss.ss_family, SOCK_DGRAM, 0);
                if (s < 0)
                        return fail("socket");
                if (sendto(s, "q", 1, 0, (struct sockaddr *)&ss, len) < 0)
                        return fail("sendto");
                return ok("sent");
        }
        if (!strcmp(cmd, "resolve")) {
                struct sockaddr_storage ss;
                socklen_t len;
                if (lookup(a1, AF_UNSPEC, &ss, &len) < 0)
                        return fail("lookup");
                inet_ntop(ss.ss_family, ss.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
                                                                : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
                          buf, sizeof(buf));
                return ok(buf);
        }
        if (!strcmp(cmd, "tfo"))
                return do_tfo(a1, a2, argc > 4 ? argv[4] : "");
        if (!strcmp(cmd, "connect-unix") || !strcmp(cmd, "connect-abstract")) {
                struct sockaddr_un un = { .sun_family = AF_UNIX };
                socklen_t ul;
                int abstract = cmd[8] == 'a';
                if (strlen(a1) + 2 > sizeof(un.sun_path))
                        return fail("path");
                strcpy(un.sun_path + abstract, a1);
                ul = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + strlen(a1) + !abstract);
                int s = socket(AF_UNIX, SOCK_STREAM, 0);
                if (s < 0)
                        return fail("socket");
                return connect(s, (struct sockaddr *)&un, ul) < 0 ? fail("connect") : ok("connected");
        }
        if (!strcmp(cmd, "listen"))
                return do_listen(a1);
        if (!strcmp(cmd, "socket-raw"))
                return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) < 0 ? fail("socket") : ok("raw socket");
        if (!strcmp(cmd, "socket-raw6"))
                return socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) < 0 ? fail("socket") : ok("raw socket");
        if (!strcmp(cmd, "socket-sctp"))
                return socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) < 0 ? fail("socket") : ok("sctp socket");
        if (!strcmp(cmd, "socket-mptcp"))
                return socket(AF_INET, SOCK_STREAM, 262) < 0 ? fail("socket") : ok("mptcp socket");
        if (!strcmp(cmd, "socket-packet"))
                return socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) < 0 ? fail("socket") : ok("packet socket");
        if (!strcmp(cmd, "mount"))
                return mount("none", "/tmp", "tmpfs", 0, NULL) < 0 ? fail("mount") : ok("mounted");
        if (!strcmp(cmd, "umount"))
                return umount2("/app", MNT_DETACH) < 0 ? fail("umount") : ok("unmounted");
        if (!strcmp(cmd, "unshare"))
                return unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? fail("unshare") : ok("unshared");
        if (!strcmp(cmd, "clone-newuser")) {
                long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
                if (r == 0)
                        _exit(0);
                return r < 0 ? fail("clone") : ok("cloned");
        }
        if (!strcmp(cmd, "setns")) {
                int fd = open("/proc/self/ns/net", O_RDONLY);
                if (fd < 0)
                        return fail("open ns");
                return setns(fd, 0) < 0 ? fail("setns") : ok("setns");
        }
        if (!strcmp(cmd, "chroot"))
                return chroot("/tmp") < 0 ? fail("chroot") : ok("chrooted");
        if (!strcmp(cmd, "pivot_root"))
                return syscall(SYS_pivot_root, "/tmp", "/tmp") < 0 ? fail("pivot_root") : ok("pivoted");
        if (!strcmp(cmd, "init_module"))
                return syscall(SYS_init_module, "", 0, "") < 0 ? fail("init_module") : ok("loaded");
        if (!strcmp(cmd, "finit_module")) {
                int fd = open("/app/bin/probe", O_RDONLY);
                return syscall(SYS_finit_module, fd, "", 0) < 0 ? fail("finit_module") : ok("loaded");
        }
        if (!strcmp(cmd, "kexec"))
                return syscall(SYS_kexec_load, 0, 0, NULL, 0) < 0 ? fail("kexec_load") : ok("kexec");
        if (!strcmp(cmd, "bpf"))
                return syscall(SYS_bpf, 0, NULL, 0) < 0 ? fail("bpf") : ok("bpf");
        if (!strcmp(cmd, "perf"))
                return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0) < 0 ? fail("perf_event_open") : ok("perf");
        if (!strcmp(cmd, "keyctl"))
                return syscall(SYS_keyctl, 0, 0, 0, 0, 0) < 0 ? fail("keyctl") : ok("keyctl");
        if (!strcmp(cmd, "ptrace"))
                return ptrace(PTRACE_ATTACH, atoi(a1), 0, 0) < 0 ? fail("ptrace") : ok("attached");
        if (!strcmp(cmd, "process_vm_readv")) {
                char dst[8];
                struct iovec l = { dst, 8 }, r = { (void *)0x400000, 8 };
                return syscall(SYS_process_vm_readv, atoi(a1), &l, 1, &r, 1, 0) < 0 ? fail("process_vm_readv")
                                                                                     : ok("read");
        }
        if (!strcmp(cmd, "kill"))
                return kill(atoi(a1), *a2 ? atoi(a2) : SIGKILL) < 0 ? fail("kill") : ok("signalled");
        if (!strcmp(cmd, "sethostname"))
                return sethostname("evil", 4) < 0 ? fail("sethostname") : ok("renamed");
        if (!strcmp(cmd, "setuid0"))
                return setuid(0) < 0 ? fail("setuid") : ok("root");
        if (!strcmp(cmd, "mknod"))
                return mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0)) < 0 ? fail("mknod") : ok("made");
        if (!strcmp(cmd, "exec")) {
                execv(a1, argv + 2);
                return fail("execv");
        }
        if (!strcmp(cmd, "exec-tmp")) {
                int in = open("/app/bin/probe", O_RDONLY), out = open("/tmp/p", O_WRONLY | O_CREAT | O_TRUNC, 0755);
                char b[65536];
                ssize_t n;
                if (in < 0 || out < 0)
                        return fail("copy");
                while ((n = read(in, b, sizeof(b))) > 0)
                        if (write(out, b, (size_t)n) != n)
                                return fail("copy");
                close(out);
                char *av[] = { "/tmp/p", "true", NULL };
                execv("/tmp/p", av);
                return fail("execv /tmp/p");
        }
        if (!strcmp(cmd, "forkbomb"))
                return do_forkbomb();
        if (!strcmp(cmd, "memhog"))
                return do_memhog(a1);
        if (!strcmp(cmd, "sleep")) {
                printf("SLEEPING\n");
                fflush(stdout);
                sleep((unsigned)atoi(a1));
                return ok("slept");
        }
        if (!strcmp(cmd, "run")) {
                /* several commands in one app run: "run CMD ARG -- CMD ARG ..." */
                int rc = 0;
                for (int i = 2; i < argc;) {
                        int j = i;
                        while (j < argc && strcmp(argv[j], "--"))
                                j++;
                        pid_t p = fork();
                        if (p == 0) {
                                char *av[16] = { argv[0] };
                                int k = 1;
                                for (int x = i; x < j && k < 15; x++)
                                        av[k++] = argv[x];
                                av[k] = NULL;
                                execv("/proc/self/exe", av);
                                _exit(3);
                        }
                        int st;
                        waitpid(p, &st, 0);
                        rc |= WIFEXITED(st) ? WEXITSTATUS(st) : 4;
                        i = j + 1;
                }
                return rc;
        }
        fprintf(stderr, "probe: unknown command '%s'\n", cmd);
        return 2;
}
