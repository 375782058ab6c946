/* egress.c - see egress.h. Trusts the manifest (already validated) and the
 * resolver; trusts nothing the app wrote into its memory beyond copying it
 * once. */
#include "sandbox/egress.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "lib/log.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int sbx_egress_init(struct sbx_egress *eg, const struct img_manifest *m, const char *hosts_file,
                    struct rp_err *err)
{
        struct seccomp_notif *req = NULL;
        struct seccomp_notif_resp *resp = NULL;

        memset(eg, 0, sizeof(*eg));
        eg->m = m;
        eg->etc_fd = -1;
        eg->cached_pidfd = eg->cached_fdinfo = -1;
        eg->park_rd = eg->park_wr = eg->park_notify = -1;
        for (size_t i = 0; i < SBX_EGRESS_FDINFO_CACHE; i++)
                eg->fdinfo_num[i] = eg->fdinfo_file[i] = -1;
        for (size_t c = 0; c < m->n_conns; c++)
                if (m->conns[c].kind == IMG_HOST_NAME)
                        eg->has_names = true;
        if (hosts_file && snprintf(eg->hosts_file, sizeof(eg->hosts_file), "%s", hosts_file) >=
                                  (int)sizeof(eg->hosts_file))
                return rp_err_set(err, -ENAMETOOLONG, "egress: hosts file path too long");
        if (seccomp_notify_alloc(&req, &resp) < 0)
                return rp_err_set(err, -ENOMEM, "egress: cannot allocate notification buffers");
        eg->req = req;
        eg->resp = resp;
        return sbx_egress_refresh(eg, true, err);
}

static void forget_task(struct sbx_egress *eg);

void sbx_egress_done(struct sbx_egress *eg)
{
        if (!eg || !eg->m)
                return;         /* never initialised: holds nothing */
        if (eg->park_wr >= 0) {
                /* end of the pipe: the worker drops what it holds and exits */
                close(eg->park_wr);
                pthread_join(eg->worker, NULL);
                close(eg->park_rd);
                close(eg->park_notify);
                eg->park_rd = eg->park_wr = eg->park_notify = -1;
        }
        forget_task(eg);
        seccomp_notify_free(eg->req, eg->resp);
        eg->req = eg->resp = NULL;
        free(eg->app_hosts);
        eg->app_hosts = NULL;
        if (eg->etc_fd >= 0)
                close(eg->etc_fd);
        eg->etc_fd = -1;
}

/* Replaces etc/hosts by rename, so a reader sees the old or the new file. */
static int write_app_hosts(const struct sbx_egress *eg, struct rp_err *err)
{
        const char *text = eg->app_hosts;
        int fd = openat(eg->etc_fd, "hosts.new", O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return rp_err_set(err, -errno, "egress: writing the app's hosts file: %s", strerror(errno));
        int r = rp_write_all(fd, text, strlen(text));
        close(fd);
        if (r < 0)
                return rp_err_set(err, r, "egress: writing the app's hosts file: %s", strerror(-r));
        if (renameat(eg->etc_fd, "hosts.new", eg->etc_fd, "hosts") < 0)
                return rp_err_set(err, -errno, "egress: replacing the app's hosts file: %s", strerror(errno));
        return 0;
}

int sbx_egress_set_etc(struct sbx_egress *eg, int etc_fd, struct rp_err *err)
{
        if (eg->etc_fd >= 0)
                close(eg->etc_fd);
        eg->etc_fd = etc_fd;
        return write_app_hosts(eg, err);
}

static void add_addr(struct sbx_egress_addr *out, size_t *n, int family, const void *addr,
                     uint16_t port, size_t conn)
{
        size_t alen = family == AF_INET ? 4 : 16;
        for (size_t i = 0; i < *n; i++)
                if (out[i].family == family && out[i].port == port &&
                    memcmp(out[i].addr, addr, alen) == 0)
                        return;
        if (*n >= SBX_EGRESS_MAX_ADDRS)
                return;
        memset(&out[*n], 0, sizeof(out[*n]));
        out[*n].family = family;
        memcpy(out[*n].addr, addr, alen);
        out[*n].port = port;
        out[*n].conn = (uint16_t)conn;
        (*n)++;
}

/* hosts(5) format: address, then names; '#' starts a comment. */
static int resolve_from_hosts(const struct sbx_egress *eg, char *text,
                              struct sbx_egress_addr *out, size_t *n)
{
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *hash = strchr(line, '#'), *s2 = NULL, *addr_s, *name;
                uint8_t a[16];
                size_t alen;
                if (hash)
                        *hash = '\0';
                addr_s = strtok_r(line, " \t\r", &s2);
                if (!addr_s || img_manifest_parse_ip(addr_s, a, &alen) < 0)
                        continue;
                while ((name = strtok_r(NULL, " \t\r", &s2))) {
                        for (size_t c = 0; c < eg->m->n_conns; c++) {
                                const struct img_manifest_conn *mc = &eg->m->conns[c];
                                if (mc->kind == IMG_HOST_NAME && strcasecmp(mc->host, name) == 0)
                                        add_addr(out, n, alen == 4 ? AF_INET : AF_INET6, a, mc->port, c);
                        }
                }
        }
        return 0;
}

static void resolve_from_dns(const struct sbx_egress *eg, struct sbx_egress_addr *out, size_t *n)
{
        for (size_t c = 0; c < eg->m->n_conns; c++) {
                const struct img_manifest_conn *mc = &eg->m->conns[c];
                struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
                if (mc->kind != IMG_HOST_NAME)
                        continue;
                int r = getaddrinfo(mc->host, NULL, &hints, &res);
                if (r != 0) {
                        rp_warn("egress", "cannot resolve '%s': %s", mc->host, gai_strerror(r));
                        continue;
                }
                for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                        if (ai->ai_family == AF_INET)
                                add_addr(out, n, AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr,
                                         mc->port, c);
                        else if (ai->ai_family == AF_INET6)
                                add_addr(out, n, AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
                                         mc->port, c);
                }
                freeaddrinfo(res);
        }
}

/* The app's /etc/hosts: loopback names plus the runtime's answers for the
 * declared names, in a stable order so unchanged answers give equal text. */
static char *render_app_hosts(const struct sbx_egress *eg, const struct sbx_egress_addr *a, size_t n)
{
        size_t cap = 128 + n * (INET6_ADDRSTRLEN + IMG_MANIFEST_HOST_MAX + 4), len = 0;
        char *s = malloc(cap);
        if (!s)
                return NULL;
        len += (size_t)snprintf(s, cap, "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        for (size_t i = 0; i < n; i++) {
                char txt[INET6_ADDRSTRLEN];
                const struct img_manifest_conn *mc = &eg->m->conns[a[i].conn];
                bool dup = false;
                if (mc->kind != IMG_HOST_NAME)
                        continue;
                /* the same address/name pair may come from two entries (two ports) */
                for (size_t j = 0; j < i; j++)
                        if (a[j].family == a[i].family && memcmp(a[j].addr, a[i].addr, 16) == 0 &&
                            strcmp(eg->m->conns[a[j].conn].host, mc->host) == 0)
                                dup = true;
                if (dup)
                        continue;
                inet_ntop(a[i].family, a[i].addr, txt, sizeof(txt));
                len += (size_t)snprintf(s + len, cap - len, "%s\t%s\n", txt, mc->host);
        }
        return s;
}

int sbx_egress_refresh(struct sbx_egress *eg, bool force, struct rp_err *err)
{
        struct sbx_egress_addr *fresh = NULL;
        size_t n = 0;
        struct stat st = {0};
        int r = 0;

        if (eg->hosts_file[0]) {
                if (stat(eg->hosts_file, &st) < 0)
                        return rp_err_set(err, -errno, "egress: hosts file '%s': %s", eg->hosts_file,
                                          strerror(errno));
                if (!force && eg->resolved && st.st_dev == eg->hosts_dev && st.st_ino == eg->hosts_ino &&
                    st.st_size == eg->hosts_size && st.st_mtim.tv_sec == eg->hosts_mtime.tv_sec &&
                    st.st_mtim.tv_nsec == eg->hosts_mtime.tv_nsec)
                        return 0;
        } else if (!force && eg->resolved && now_ms() - eg->resolved_at_ms < SBX_EGRESS_DNS_TTL_MS) {
                return 0;
        }

        fresh = calloc(SBX_EGRESS_MAX_ADDRS, sizeof(*fresh));
        if (!fresh)
                return rp_err_set(err, -ENOMEM, "egress: out of memory");
        /* literal addresses first: they never change */
        for (size_t c = 0; c < eg->m->n_conns; c++) {
                const struct img_manifest_conn *mc = &eg->m->conns[c];
                if (mc->kind == IMG_HOST_IPV4)
                        add_addr(fresh, &n, AF_INET, mc->addr, mc->port, c);
                else if (mc->kind == IMG_HOST_IPV6)
                        add_addr(fresh, &n, AF_INET6, mc->addr, mc->port, c);
        }
        if (eg->hosts_file[0]) {
                uint8_t *text = NULL;
                size_t tlen;
                if ((r = rp_read_file(eg->hosts_file, SBX_EGRESS_MAX_HOSTS_FILE, &text, &tlen, err)) < 0) {
                        rp_err_prefix(err, "egress");
                        goto out;
                }
                resolve_from_hosts(eg, (char *)text, fresh, &n);
                free(text);
                eg->hosts_dev = st.st_dev;
                eg->hosts_ino = st.st_ino;
                eg->hosts_size = st.st_size;
                eg->hosts_mtime = st.st_mtim;
        } else {
                resolve_from_dns(eg, fresh, &n);
        }
        memcpy(eg->allow, fresh, n * sizeof(*fresh));
        eg->n = n;
        eg->resolved = true;
        eg->resolved_at_ms = now_ms();

        char *text = render_app_hosts(eg, fresh, n);
        if (!text) {
                r = rp_err_set(err, -ENOMEM, "egress: out of memory");
                goto out;
        }
        if (eg->app_hosts && strcmp(text, eg->app_hosts) == 0) {
                free(text);
                goto out;
        }
        free(eg->app_hosts);
        eg->app_hosts = text;
        if (eg->etc_fd >= 0)
                r = write_app_hosts(eg, err);
out:
        free(fresh);
        return r;
}

/* Normalises an app-supplied address into family/bytes/port. */
static int sockaddr_split(const struct sockaddr *sa, socklen_t len, int *family, uint8_t addr[16],
                          uint16_t *port)
{
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (len >= (socklen_t)sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const void *)sa;
                *family = AF_INET;
                memcpy(addr, &in->sin_addr, 4);
                *port = ntohs(in->sin_port);
                return 0;
        }
        if (len >= (socklen_t)sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const void *)sa;
                *port = ntohs(in6->sin6_port);
                if (memcmp(in6->sin6_addr.s6_addr, v4mapped, 12) == 0) {
                        *family = AF_INET;
                        memcpy(addr, in6->sin6_addr.s6_addr + 12, 4);
                } else {
                        *family = AF_INET6;
                        memcpy(addr, in6->sin6_addr.s6_addr, 16);
                }
                return 0;
        }
        return -EAFNOSUPPORT;
}

int sbx_egress_check_connect(const struct sbx_egress *eg, const struct sockaddr *sa, socklen_t len)
{
        uint8_t addr[16];
        uint16_t port;
        int family;

        if (sockaddr_split(sa, len, &family, addr, &port) < 0)
                return -EACCES;
        if (port == 0)
                return -EACCES;
        for (size_t i = 0; i < eg->n; i++) {
                const struct sbx_egress_addr *a = &eg->allow[i];
                if (a->family == family && memcmp(a->addr, addr, family == AF_INET ? 4 : 16) == 0 &&
                    (a->port == 0 || a->port == port))
                        return 0;
        }
        return -EACCES;
}

int sbx_egress_check_bind(const struct sbx_egress *eg, int type, const struct sockaddr *sa,
                          socklen_t len)
{
        uint8_t addr[16];
        uint16_t port;
        int family;

        if (sockaddr_split(sa, len, &family, addr, &port) < 0)
                return -EACCES;
        /* UDP server sockets in the host namespace could send anywhere, so
         * only TCP listeners are granted. */
        if (type != SOCK_STREAM || port == 0)
                return -EACCES;
        for (size_t i = 0; i < eg->m->n_tcp_ports; i++)
                if (eg->m->tcp_ports[i] == port)
                        return 0;
        return -EACCES;
}

static void fmt_addr(const struct sockaddr *sa, char *out, size_t cap)
{
        char txt[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;
        if (sa->sa_family == AF_INET) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, txt, sizeof(txt));
                port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
                snprintf(out, cap, "%s:%u", txt, port);
        } else if (sa->sa_family == AF_INET6) {
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, txt, sizeof(txt));
                port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
                snprintf(out, cap, "[%s]:%u", txt, port);
        } else {
                snprintf(out, cap, "family %d", sa->sa_family);
        }
}

static int respond(int notify_fd, struct seccomp_notif_resp *resp, uint64_t id, int error,
                   bool cont)
{
        resp->id = id;
        resp->val = 0;
        resp->error = error;
        resp->flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
                return errno == ENOENT ? -ENOENT : -errno;
        return 0;
}

/* The app's flags on its descriptor `fd`: the file's status flags
 * (O_NONBLOCK) plus O_CLOEXEC, which is a property of the descriptor and
 * not visible through a duplicate, so it is read from fdinfo. The fdinfo
 * files of the numbers last asked about stay open: a read looks the number
 * up again, so one pread answers for whatever the number holds now. */
static int remote_fd_flags(struct sbx_egress *eg, int fd, unsigned long *flags)
{
        char name[16], buf[256];
        int f = -1;

        if (eg->cached_fdinfo < 0)
                return -ENOENT;
        for (size_t i = 0; i < SBX_EGRESS_FDINFO_CACHE; i++)
                if (eg->fdinfo_num[i] == fd && eg->fdinfo_file[i] >= 0)
                        f = eg->fdinfo_file[i];
        if (f < 0) {
                snprintf(name, sizeof(name), "%d", fd);
                f = openat(eg->cached_fdinfo, name, O_RDONLY | O_CLOEXEC);
                if (f < 0)
                        return -errno;
                unsigned slot = eg->fdinfo_next++ % SBX_EGRESS_FDINFO_CACHE;
                if (eg->fdinfo_file[slot] >= 0)
                        close(eg->fdinfo_file[slot]);
                eg->fdinfo_file[slot] = f;
                eg->fdinfo_num[slot] = fd;
        }
        ssize_t n = pread(f, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        buf[n] = '\0';
        char *fl = strstr(buf, "flags:");
        if (!fl)
                return -EIO;
        *flags = strtoul(fl + 6, NULL, 8);
        return 0;
}

/* Handles on the asking task, reused while the same task keeps asking. A
 * pidfd names one task for good: if that task is gone and its id reused,
 * pidfd_getfd fails and the handles are opened afresh. */
static void forget_task(struct sbx_egress *eg)
{
        if (eg->cached_pidfd >= 0)
                close(eg->cached_pidfd);
        if (eg->cached_fdinfo >= 0)
                close(eg->cached_fdinfo);
        eg->cached_pidfd = eg->cached_fdinfo = -1;
        eg->cached_tid = 0;
        for (size_t i = 0; i < SBX_EGRESS_FDINFO_CACHE; i++) {
                if (eg->fdinfo_file[i] >= 0)
                        close(eg->fdinfo_file[i]);
                eg->fdinfo_file[i] = eg->fdinfo_num[i] = -1;
        }
}

static int task_handles(struct sbx_egress *eg, pid_t tid)
{
        char path[64];
        if (eg->cached_tid == tid && eg->cached_pidfd >= 0)
                return 0;
        forget_task(eg);
        int pidfd = (int)syscall(SYS_pidfd_open, tid, 0);
        if (pidfd < 0)
                pidfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
        if (pidfd < 0)
                return -ESRCH;
        snprintf(path, sizeof(path), "/proc/%d/fdinfo", tid);
        eg->cached_fdinfo = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        eg->cached_pidfd = pidfd;
        eg->cached_tid = tid;
        return 0;
}

static int sock_error(int s)
{
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                return -errno;
        return soerr ? -soerr : 0;
}

/* Starts connecting the runtime's non-blocking socket: 0 when connected
 * (a loopback or LAN peer usually is by the time connect() returns),
 * -EINPROGRESS when still under way, else the error. */
static int connect_start(int s, const struct sockaddr *sa, socklen_t len)
{
        struct pollfd p = { .fd = s, .events = POLLOUT };

        if (connect(s, sa, len) == 0)
                return 0;
        if (errno != EINPROGRESS)
                return -errno;
        int r = poll(&p, 1, 0);
        if (r < 0)
                return -errno;
        return r == 0 ? -EINPROGRESS : sock_error(s);
}

static int connect_wait(int s, int timeout_ms)
{
        struct pollfd p = { .fd = s, .events = POLLOUT };
        int r = poll(&p, 1, timeout_ms);
        if (r == 0)
                return -ETIMEDOUT;
        return r < 0 ? -errno : sock_error(s);
}

/* Installs the runtime's connected (or bound) socket in place of the app's
 * descriptor `fd`, with the app's blocking mode and close-on-exec, then
 * lets the call return 0. 1 when handed over, 0 when answered with an
 * error, -ENOENT when the request is gone. */
static int hand_over(int notify_fd, struct seccomp_notif_resp *resp, uint64_t id, int sock, int fd,
                     unsigned long fdflags)
{
        if (!(fdflags & O_NONBLOCK)) {
                int off = 0;
                (void)ioctl(sock, FIONBIO, &off);
        }
        struct seccomp_notif_addfd add = {
                .id = id,
                .flags = SECCOMP_ADDFD_FLAG_SETFD,
                .srcfd = (uint32_t)sock,
                .newfd = (uint32_t)fd,
                .newfd_flags = (uint32_t)(fdflags & O_CLOEXEC),
        };
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return respond(notify_fd, resp, id, -EMFILE, false);
        }
        int r = respond(notify_fd, resp, id, 0, false);
        return r < 0 ? r : 1;
}

/* A connect the worker finishes. */
struct parked {
        uint64_t id;            /* the notification */
        uint64_t deadline_ms;
        int sock;               /* the runtime's socket, connecting */
        int fd;                 /* the app's descriptor number */
        unsigned long fdflags;  /* O_NONBLOCK, O_CLOEXEC of the app's descriptor */
};

static void finish_parked(struct sbx_egress *eg, const struct parked *q, int r)
{
        struct seccomp_notif_resp resp;
        if (r == 0) {
                if (hand_over(eg->park_notify, &resp, q->id, q->sock, q->fd, q->fdflags) == 1)
                        __atomic_add_fetch(&eg->n_allowed, 1, __ATOMIC_RELAXED);
        } else {
                (void)respond(eg->park_notify, &resp, q->id, r, false);
        }
        close(q->sock);
        __atomic_sub_fetch(&eg->parked, 1, __ATOMIC_RELAXED);
}

/* The connect worker: waits on the parked connects and the pipe. Only
 * system calls here (no allocator, no stdio, no logging). */
static void *connect_worker(void *arg)
{
        struct sbx_egress *eg = arg;
        struct parked p[SBX_EGRESS_MAX_PARKED];
        struct pollfd pf[SBX_EGRESS_MAX_PARKED + 1];
        size_t n = 0;

        for (;;) {
                uint64_t now = now_ms(), next = UINT64_MAX;
                pf[0] = (struct pollfd){ .fd = eg->park_rd, .events = POLLIN };
                for (size_t i = 0; i < n; i++) {
                        pf[i + 1] = (struct pollfd){ .fd = p[i].sock, .events = POLLOUT };
                        if (p[i].deadline_ms < next)
                                next = p[i].deadline_ms;
                }
                int timeout = n == 0 ? -1 : next <= now ? 0 : (int)(next - now);
                if (poll(pf, n + 1, timeout) < 0 && errno != EINTR)
                        (void)poll(NULL, 0, 10);        /* ENOMEM: retry shortly */
                now = now_ms();
                /* from the end, so moving the last entry into a finished
                 * one's place only moves an entry already looked at */
                for (size_t i = n; i-- > 0;) {
                        int r;
                        if (pf[i + 1].revents)
                                r = sock_error(p[i].sock);
                        else if (now >= p[i].deadline_ms)
                                r = -ETIMEDOUT;
                        else
                                continue;
                        finish_parked(eg, &p[i], r);
                        p[i] = p[--n];
                }
                if (!(pf[0].revents & (POLLIN | POLLHUP)))
                        continue;
                struct parked q;
                ssize_t k = read(eg->park_rd, &q, sizeof(q));
                if (k == (ssize_t)sizeof(q)) {
                        if (n < SBX_EGRESS_MAX_PARKED)
                                p[n++] = q;
                        else
                                finish_parked(eg, &q, -EAGAIN);
                } else if (k == 0 || (k < 0 && errno != EINTR)) {
                        /* the egress is going away with its app */
                        for (size_t i = 0; i < n; i++)
                                close(p[i].sock);
                        return NULL;
                }
        }
}

static int start_worker(struct sbx_egress *eg, int notify_fd)
{
        int pp[2];
        sigset_t all, old;

        if (pipe2(pp, O_CLOEXEC) < 0)
                return -errno;
        int nfd = fcntl(notify_fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0) {
                int r = -errno;
                close(pp[0]);
                close(pp[1]);
                return r;
        }
        eg->park_rd = pp[0];
        eg->park_notify = nfd;
        /* signals stay with the runtime's own thread */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(&eg->worker, NULL, connect_worker, eg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                close(pp[0]);
                close(pp[1]);
                close(nfd);
                eg->park_rd = eg->park_notify = -1;
                return -r;
        }
        eg->park_wr = pp[1];
        return 0;
}

/* Hands a connect still under way to the worker; on success the worker
 * owns `sock` and answers the request. */
static int park(struct sbx_egress *eg, int notify_fd, uint64_t id, int sock, int fd, unsigned long fdflags)
{
        struct parked q = {
                .id = id,
                .deadline_ms = now_ms() + SBX_EGRESS_CONNECT_TIMEOUT_MS,
                .sock = sock,
                .fd = fd,
                .fdflags = fdflags,
        };
        int r;

        if (__atomic_load_n(&eg->parked, __ATOMIC_RELAXED) >= SBX_EGRESS_MAX_PARKED)
                return -EBUSY;
        if (eg->park_wr < 0 && (r = start_worker(eg, notify_fd)) < 0)
                return r;
        __atomic_add_fetch(&eg->parked, 1, __ATOMIC_RELAXED);
        if (write(eg->park_wr, &q, sizeof(q)) != (ssize_t)sizeof(q)) {
                __atomic_sub_fetch(&eg->parked, 1, __ATOMIC_RELAXED);
                return -EIO;
        }
        return 0;
}

int sbx_egress_handle(struct sbx_egress *eg, int notify_fd)
{
        struct seccomp_notif *req = eg->req;
        struct seccomp_notif_resp *resp = eg->resp;
        struct sockaddr_storage ss;
        struct rp_err e = {0};
        char where[INET6_ADDRSTRLEN + 16];
        int domain = 0, type = 0, proto = 0, r;
        socklen_t ol = sizeof(int);

        memset(req, 0, sizeof(*req));
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
                return errno == ENOENT || errno == EINTR ? -ENOENT : -errno;

        const int nr = req->data.nr;
        const int fd = (int)req->data.args[0];
        const uint64_t uaddr = req->data.args[1];
        const uint64_t ulen = req->data.args[2];
        const pid_t pid = (pid_t)req->pid;

        if (nr != __NR_connect && nr != __NR_bind)
                return respond(notify_fd, resp, req->id, -ENOSYS, false);
        if (ulen > sizeof(ss) || ulen < sizeof(sa_family_t))
                return respond(notify_fd, resp, req->id, -EINVAL, false);

        /* copy the address exactly once; everything below uses this copy */
        memset(&ss, 0, sizeof(ss));
        struct iovec local = { .iov_base = &ss, .iov_len = ulen };
        struct iovec remote = { .iov_base = (void *)(uintptr_t)uaddr, .iov_len = ulen };
        if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)ulen)
                return respond(notify_fd, resp, req->id, -EFAULT, false);

        if (task_handles(eg, pid) < 0)
                return respond(notify_fd, resp, req->id, -ESRCH, false);
        _cleanup_close_ int sfd = (int)syscall(SYS_pidfd_getfd, eg->cached_pidfd, fd, 0);
        if (sfd < 0 && errno == ESRCH) {
                /* a cached handle on a task that is gone: open afresh */
                forget_task(eg);
                if (task_handles(eg, pid) < 0)
                        return respond(notify_fd, resp, req->id, -ESRCH, false);
                sfd = (int)syscall(SYS_pidfd_getfd, eg->cached_pidfd, fd, 0);
        }
        /* the task may have died (and its id been reused) since RECV; the
         * handles are only trusted if the notification is still pending */
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0) {
                forget_task(eg);
                return -ENOENT;
        }
        if (sfd < 0)
                return respond(notify_fd, resp, req->id, -EBADF, false);
        if (getsockopt(sfd, SOL_SOCKET, SO_DOMAIN, &domain, &ol) < 0)
                return respond(notify_fd, resp, req->id, -ENOTSOCK, false);
        if (domain != AF_INET && domain != AF_INET6)
                /* unix and netlink sockets: nothing leaves the namespace
                 * that way, and the socket's family cannot change */
                return respond(notify_fd, resp, req->id, 0, true);
        ol = sizeof(int);
        getsockopt(sfd, SOL_SOCKET, SO_TYPE, &type, &ol);
        ol = sizeof(int);
        getsockopt(sfd, SOL_SOCKET, SO_PROTOCOL, &proto, &ol);

        fmt_addr((struct sockaddr *)&ss, where, sizeof(where));
        const char *what = nr == __NR_connect ? "connect" : "bind";
        if (type == SOCK_STREAM && proto != IPPROTO_TCP) {
                r = -EACCES;    /* the filter admits only TCP streams */
        } else if (nr == __NR_connect) {
                /* literal addresses never change: only names need a refresh */
                if (type != SOCK_STREAM)
                        r = -EACCES;
                else
                        r = eg->has_names && sbx_egress_refresh(eg, false, &e) < 0 ? -EACCES
                            : sbx_egress_check_connect(eg, (struct sockaddr *)&ss, (socklen_t)ulen);
                if (e.code)
                        rp_warn("egress", "app '%s': %s", eg->m->name, e.msg);
        } else {
                r = sbx_egress_check_bind(eg, type, (struct sockaddr *)&ss, (socklen_t)ulen);
        }
        if (r < 0) {
                eg->n_denied++;
                rp_warn("egress", "app '%s': %s %s to %s denied (not declared in the manifest)", eg->m->name,
                        type == SOCK_STREAM ? "tcp" : "non-tcp", what, where);
                return respond(notify_fd, resp, req->id, -EACCES, false);
        }

        /* the runtime makes the socket in the host namespace; the app's
         * descriptor flags decide blocking mode and close-on-exec */
        unsigned long fdflags = 0;
        if (remote_fd_flags(eg, fd, &fdflags) < 0) {
                int fl = fcntl(sfd, F_GETFL);
                fdflags = fl < 0 ? 0 : (unsigned long)fl;
        }
        _cleanup_close_ int ns = socket(domain, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
        if (ns < 0)
                return respond(notify_fd, resp, req->id, -errno, false);
        if (domain == AF_INET6) {
                int v6only = 0;
                ol = sizeof(v6only);
                if (getsockopt(sfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol) == 0)
                        (void)setsockopt(ns, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        }
        if (nr == __NR_connect) {
                r = connect_start(ns, (struct sockaddr *)&ss, (socklen_t)ulen);
                if (r == -EINPROGRESS && park(eg, notify_fd, req->id, ns, fd, fdflags) == 0) {
                        rp_debug("egress", "app '%s': connect to %s allowed, still connecting", eg->m->name,
                                 where);
                        ns = -1;        /* the worker's now */
                        return 0;
                }
                if (r == -EINPROGRESS)
                        r = connect_wait(ns, SBX_EGRESS_CONNECT_TIMEOUT_MS);
        } else {
                int one = 1;
                (void)setsockopt(ns, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                r = bind(ns, (struct sockaddr *)&ss, (socklen_t)ulen) < 0 ? -errno : 0;
        }
        if (r < 0)
                return respond(notify_fd, resp, req->id, r, false);
        if ((r = hand_over(notify_fd, resp, req->id, ns, fd, fdflags)) < 0)
                return r;
        if (r == 0)
                return 0;
        __atomic_add_fetch(&eg->n_allowed, 1, __ATOMIC_RELAXED);
        rp_debug("egress", "app '%s': %s to %s granted", eg->m->name, what, where);
        return 0;
}
