/* sandbox.c - see sandbox.h. The code between clone3() and execve() runs in
 * the new namespaces as root; any failure there is written to an error
 * pipe as one message and the child exits, so the runtime can report which
 * step failed. */
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "sandbox/landlock.h"
#include "sandbox/uid.h"

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED (1 << 3)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED (1 << 7)
#endif
#define SBX_SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW('!', 4, uint64_t)
#define SBX_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1ULL
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Everything the child side needs, prepared by the runtime before clone. */
struct child_ctx {
        const struct sbx_config *cfg;
        struct sbx_app *app;
        char root[4200];  /* a mount point only; each app mounts its own root on it */
        int sync_rd;     /* runtime -> child: "cgroup done, go" */
        int err_wr;      /* child -> runtime: one failure message */
        int sock;        /* child -> runtime: the seccomp listener */
        int status_wr;   /* init -> runtime: the app's wait status */
        int log_fd;
};

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

__attribute__((format(printf, 2, 3), noreturn))
static void child_fail(int err_wr, const char *fmt, ...)
{
        char msg[RP_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (n > (int)sizeof(msg) - 1)
                n = (int)sizeof(msg) - 1;
        if (n > 0 && write(err_wr, msg, (size_t)n) < 0) {
                /* nobody to tell */
        }
        _exit(125);
}

static int bind_ro(const char *src, const char *dst, unsigned long extra)
{
        if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | extra, NULL) < 0)
                return -errno;
        return 0;
}

static void mkdir_in(int err_wr, const char *root, const char *sub, mode_t mode)
{
        char p[4300];
        snprintf(p, sizeof(p), "%s%s", root, sub);
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                child_fail(err_wr, "sandbox: mkdir '%s': %s", p, strerror(errno));
}

static int send_fd(int sock, int fd);

static void put_file(int err_wr, int dirfd, const char *name, const char *text)
{
        int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0 || rp_write_all(fd, text, strlen(text)) < 0)
                child_fail(err_wr, "sandbox: writing /etc/%s: %s", name, strerror(errno));
        close(fd);
}

/* /etc: a small tmpfs with the runtime's files. The app sees a read-only
 * bind of it; the runtime keeps a descriptor of the writable mount beneath
 * so it can replace /etc/hosts when the answers for declared names change. */
static void setup_etc(struct child_ctx *c)
{
        const struct img_manifest *m = c->cfg->manifest;
        const int ew = c->err_wr;
        const unsigned uid = (unsigned)c->app->uid;
        char p[4300], text[512];
        int r;

        snprintf(p, sizeof(p), "%s/etc", c->root);
        if (mount("rampart-etc", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,nr_inodes=32,mode=0755") < 0)
                child_fail(ew, "sandbox: /etc tmpfs: %s", strerror(errno));
        int dfd = open(p, O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                child_fail(ew, "sandbox: opening /etc: %s", strerror(errno));
        snprintf(text, sizeof(text), "root:x:0:0::/:/sbin/nologin\n%s:x:%u:%u::/data:/sbin/nologin\n", m->name,
                 uid, uid);
        put_file(ew, dfd, "passwd", text);
        snprintf(text, sizeof(text), "root:x:0:\n%s:x:%u:\n", m->name, uid);
        put_file(ew, dfd, "group", text);
        put_file(ew, dfd, "nsswitch.conf", "hosts: files\npasswd: files\ngroup: files\n");
        put_file(ew, dfd, "resolv.conf", "# names are resolved by the runtime: see /etc/hosts\n");
        put_file(ew, dfd, "hosts", c->app->eg.app_hosts ? c->app->eg.app_hosts : "");
        if ((r = send_fd(c->sock, dfd)) < 0)
                child_fail(ew, "sandbox: handing over /etc: %s", strerror(-r));
        close(dfd);
        if ((r = bind_ro(p, p, MS_NOEXEC)) < 0)
                child_fail(ew, "sandbox: /etc read-only: %s", strerror(-r));
}

/* Builds the root view in the (new, private) mount namespace and enters it. */
static void setup_root(struct child_ctx *c)
{
        const struct sbx_config *cfg = c->cfg;
        const int ew = c->err_wr;
        char p[4300], opt[64];
        int r;

        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(ew, "sandbox: making mounts private: %s", strerror(errno));
        if (mount("rampart-root", c->root, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,nr_inodes=64,mode=0755") < 0)
                child_fail(ew, "sandbox: root tmpfs on '%s': %s", c->root, strerror(errno));
        mkdir_in(ew, c->root, SBX_APP_DIR, 0755);
        mkdir_in(ew, c->root, "/proc", 0555);
        mkdir_in(ew, c->root, "/dev", 0755);
        mkdir_in(ew, c->root, "/tmp", 01777);
        mkdir_in(ew, c->root, "/etc", 0755);

        snprintf(p, sizeof(p), "%s" SBX_APP_DIR, c->root);
        if ((r = bind_ro(cfg->app_root, p, 0)) < 0)
                child_fail(ew, "sandbox: binding image '%s' read-only: %s", cfg->app_root, strerror(-r));
        if (cfg->system_libs) {
                static const char *const libs[] = { "/usr", "/lib", "/lib64", "/bin" };
                for (size_t i = 0; i < ARRAY_SIZE(libs); i++) {
                        struct stat st;
                        if (lstat(libs[i], &st) < 0)
                                continue;
                        snprintf(p, sizeof(p), "%s%s", c->root, libs[i]);
                        if (S_ISLNK(st.st_mode)) {
                                char target[256];
                                ssize_t n = readlink(libs[i], target, sizeof(target) - 1);
                                if (n <= 0)
                                        continue;
                                target[n] = '\0';
                                if (symlink(target, p) < 0)
                                        child_fail(ew, "sandbox: symlink '%s': %s", p, strerror(errno));
                                continue;
                        }
                        mkdir_in(ew, c->root, libs[i], 0755);
                        if ((r = bind_ro(libs[i], p, 0)) < 0)
                                child_fail(ew, "sandbox: binding '%s': %s", libs[i], strerror(-r));
                }
        }

        /* /dev: three harmless devices on a read-only tmpfs */
        snprintf(p, sizeof(p), "%s/dev", c->root);
        if (mount("rampart-dev", p, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=16k,nr_inodes=16,mode=0755") < 0)
                child_fail(ew, "sandbox: /dev tmpfs: %s", strerror(errno));
        static const char *const devs[] = { "null", "zero", "urandom" };
        for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
                char src[32];
                snprintf(src, sizeof(src), "/dev/%s", devs[i]);
                snprintf(p, sizeof(p), "%s/dev/%s", c->root, devs[i]);
                int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
                if (fd < 0)
                        child_fail(ew, "sandbox: creating '%s': %s", p, strerror(errno));
                close(fd);
                if (mount(src, p, NULL, MS_BIND, NULL) < 0)
                        child_fail(ew, "sandbox: binding %s: %s", src, strerror(errno));
        }
        snprintf(p, sizeof(p), "%s/dev", c->root);
        if (mount(NULL, p, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "size=16k,nr_inodes=16,mode=0755") < 0)
                child_fail(ew, "sandbox: /dev read-only: %s", strerror(errno));

        snprintf(p, sizeof(p), "%s/tmp", c->root);
        snprintf(opt, sizeof(opt), "size=%uk,nr_inodes=4096,mode=1777", cfg->tmp_kb);
        if (mount("rampart-tmp", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opt) < 0)
                child_fail(ew, "sandbox: /tmp tmpfs: %s", strerror(errno));

        snprintf(p, sizeof(p), "%s/proc", c->root);
        if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") < 0 &&
            mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
                child_fail(ew, "sandbox: mounting /proc: %s", strerror(errno));

        setup_etc(c);

        if (cfg->manifest->storage_kb) {
                struct rp_err e = {0};
                mkdir_in(ew, c->root, SBX_DATA_DIR, 0755);
                snprintf(p, sizeof(p), "%s" SBX_DATA_DIR, c->root);
                if (sbx_storage_mount(&c->app->storage, p, &e) < 0)
                        child_fail(ew, "sandbox: %s", e.msg);
                sbx_storage_release(&c->app->storage);
        }

        if (chdir(c->root) < 0)
                child_fail(ew, "sandbox: chdir '%s': %s", c->root, strerror(errno));
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                child_fail(ew, "sandbox: pivot_root: %s", strerror(errno));
        if (umount2(".", MNT_DETACH) < 0)
                child_fail(ew, "sandbox: detaching the old root: %s", strerror(errno));
        if (chdir("/") < 0)
                child_fail(ew, "sandbox: chdir /: %s", strerror(errno));
        if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k,nr_inodes=64,mode=0755") < 0)
                child_fail(ew, "sandbox: root read-only: %s", strerror(errno));
        if (sethostname(cfg->manifest->name, strlen(cfg->manifest->name)) < 0)
                child_fail(ew, "sandbox: sethostname: %s", strerror(errno));
}

static int cap_last(void)
{
        char buf[16] = {0};
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (fd >= 0)
                close(fd);
        return n > 0 ? atoi(buf) : 63;
}

static int send_fd(int sock, int fd)
{
        char cbuf[CMSG_SPACE(sizeof(int))];
        char byte = 'F';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                              .msg_controllen = sizeof(cbuf) };
        memset(cbuf, 0, sizeof(cbuf));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
        char cbuf[CMSG_SPACE(sizeof(int))];
        char byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                              .msg_controllen = sizeof(cbuf) };
        ssize_t n;
        while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
                ;
        if (n <= 0)
                return n == 0 ? -EPIPE : -errno;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        int fd;
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        return fd;
}

/* PID 2: drops everything and becomes the app. */
__attribute__((noreturn))
static void app_exec(struct child_ctx *c)
{
        const struct sbx_config *cfg = c->cfg;
        const struct img_manifest *m = cfg->manifest;
        const int ew = c->err_wr;
        const uid_t uid = c->app->uid;
        struct rp_err e = {0};
        char path[IMG_MANIFEST_PATH_MAX + sizeof(SBX_APP_DIR) + 1];
        char *argv[IMG_MANIFEST_MAX_ARGS + 64];
        char env_name[IMG_MANIFEST_NAME_MAX + 16], env_id[IMG_MANIFEST_ID_LEN + 24];
        char *envp[] = { "PATH=/app/bin:/app:/usr/bin:/bin", "HOME=/data", "TMPDIR=/tmp", "LANG=C.UTF-8",
                         env_name, env_id, NULL };
        size_t ac = 0;
        int r;

        if (setsid() < 0)
                child_fail(ew, "sandbox: setsid: %s", strerror(errno));
        int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (dn < 0 || dup2(dn, 0) < 0 || dup2(c->log_fd, 1) < 0 || dup2(c->log_fd, 2) < 0)
                child_fail(ew, "sandbox: standard descriptors: %s", strerror(errno));
        if (chdir(SBX_APP_DIR) < 0)
                child_fail(ew, "sandbox: chdir " SBX_APP_DIR ": %s", strerror(errno));
        if ((r = sbx_limits_apply_self(&c->app->lim)) < 0)
                child_fail(ew, "sandbox: rlimits: %s", strerror(-r));

        /* capabilities: bounding set first (needs CAP_SETPCAP), then lock
         * the securebits so uid 0 would never regain them, then the ids */
        int last = cap_last();
        for (int cap = 0; cap <= last; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        child_fail(ew, "sandbox: dropping capability %d from the bounding set: %s", cap,
                                   strerror(errno));
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                child_fail(ew, "sandbox: clearing ambient capabilities: %s", strerror(errno));
        if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |
                                             SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                                             SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0) < 0)
                child_fail(ew, "sandbox: securebits: %s", strerror(errno));
        if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                child_fail(ew, "sandbox: switching to uid %u: %s", (unsigned)uid, strerror(errno));
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct data[2];
        memset(data, 0, sizeof(data));
        if (syscall(SYS_capset, &hdr, data) < 0)
                child_fail(ew, "sandbox: clearing capabilities: %s", strerror(errno));
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                child_fail(ew, "sandbox: no_new_privs: %s", strerror(errno));

        struct sbx_landlock_path ll[12];
        unsigned nl = 0;
        ll[nl++] = (struct sbx_landlock_path){ SBX_APP_DIR, false, true };
        ll[nl++] = (struct sbx_landlock_path){ "/etc", false, false };
        ll[nl++] = (struct sbx_landlock_path){ "/proc", false, false };
        ll[nl++] = (struct sbx_landlock_path){ "/dev", true, false };
        ll[nl++] = (struct sbx_landlock_path){ "/tmp", true, false };
        if (m->storage_kb)
                ll[nl++] = (struct sbx_landlock_path){ SBX_DATA_DIR, true, false };
        if (cfg->system_libs) {
                static const char *const libs[] = { "/usr", "/lib", "/lib64", "/bin" };
                for (size_t i = 0; i < ARRAY_SIZE(libs); i++)
                        if (access(libs[i], F_OK) == 0)
                                ll[nl++] = (struct sbx_landlock_path){ libs[i], false, true };
        }
        if ((r = sbx_landlock_apply(ll, nl, &e)) < 0)
                child_fail(ew, "sandbox: %s", e.msg);

        int listener = sbx_filter_install(cfg->filter);
        if (listener < 0)
                child_fail(ew, "sandbox: installing the seccomp filter: %s", strerror(-listener));
        if ((r = send_fd(c->sock, listener)) < 0)
                child_fail(ew, "sandbox: handing over the seccomp listener: %s", strerror(-r));
        close(listener);
        close(c->sock);
        /* nothing but 0-2 and the error pipe survive exec; the error pipe
         * closes at exec, which tells the runtime the app is running */
        if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                child_fail(ew, "sandbox: close_range: %s", strerror(errno));

        snprintf(path, sizeof(path), SBX_APP_DIR "%s", m->entry_point);
        snprintf(env_name, sizeof(env_name), "RAMPART_APP=%s", m->name);
        snprintf(env_id, sizeof(env_id), "RAMPART_COMPONENT_ID=%s", m->component_id);
        argv[ac++] = path;
        for (size_t i = 0; i < m->n_args; i++)
                argv[ac++] = (char *)m->args[i];
        for (size_t i = 0; cfg->extra_args && cfg->extra_args[i] && ac < ARRAY_SIZE(argv) - 1; i++)
                argv[ac++] = cfg->extra_args[i];
        argv[ac] = NULL;
        execve(path, argv, envp);
        child_fail(ew, "sandbox: executing EntryPoint '%s': %s", m->entry_point, strerror(errno));
}

static volatile pid_t init_app_pid;

static void init_forward(int sig)
{
        if (init_app_pid > 0)
                kill(init_app_pid, sig);
}

/* PID 1 of the compartment: builds the root, starts the app, reaps every
 * process and reports the app's status. */
__attribute__((noreturn))
static void child_init(struct child_ctx *c)
{
        char go;
        int status = 0;

        /* if the runtime dies, the compartment dies with it */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (read(c->sync_rd, &go, 1) != 1)
                _exit(125);
        close(c->sync_rd);
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                if (write(fd, "-1000", 5) < 0) {
                        /* init stays small; the OOM killer would pick the app anyway */
                }
                close(fd);
        }
        setup_root(c);

        pid_t app = fork();
        if (app < 0)
                child_fail(c->err_wr, "sandbox: fork: %s", strerror(errno));
        if (app == 0)
                app_exec(c);
        init_app_pid = app;
        close(c->err_wr);
        close(c->sock);
        close(c->log_fd);
        struct sigaction sa = { .sa_handler = init_forward };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        for (;;) {
                int st;
                pid_t p = waitpid(-1, &st, 0);
                if (p < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p == app) {
                        status = st;
                        break;
                }
        }
        if (write(c->status_wr, &status, sizeof(status)) < 0) {
                /* the runtime falls back to init's own exit status */
        }
        _exit(0);
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

int sbx_start(const struct sbx_config *cfg, struct sbx_app **ret, struct rp_err *err)
{
        const struct img_manifest *m = cfg->manifest;
        struct child_ctx c = { .cfg = cfg };
        int sync_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, st_p[2] = { -1, -1 }, sp[2] = { -1, -1 };
        _cleanup_close_ int log_fd = -1;
        struct sbx_app *app = NULL;
        char logp[4300], errmsg[RP_ERR_MSG_MAX];
        struct stat st;
        int r;

        if (!cfg->app_root || !m || !cfg->filter || !cfg->state_dir)
                return rp_err_set(err, -EINVAL, "sandbox: incomplete configuration");
        if (stat(cfg->app_root, &st) < 0 || !S_ISDIR(st.st_mode))
                return rp_err_set(err, -ENOTDIR, "sandbox: app root '%s' is not a directory", cfg->app_root);
        if (cfg->tmp_kb == 0 || cfg->tmp_kb > SBX_MAX_TMP_KB)
                return rp_err_set(err, -EINVAL, "sandbox: /tmp size %u KiB is outside 1..%u", cfg->tmp_kb,
                                  SBX_MAX_TMP_KB);
        app = calloc(1, sizeof(*app));
        if (!app)
                return rp_err_set(err, -ENOMEM, "sandbox: out of memory");
        app->pid = -1;
        app->pidfd = app->notify_fd = app->status_fd = -1;
        app->storage.loop_fd = -1;
        app->storage.lock_fd = -1;
        app->m = m;
        c.app = app;

        if ((r = sbx_uid_alloc(cfg->state_dir, m->component_id, &app->uid, err)) < 0)
                goto fail;
        /* one shared, empty mount point: every compartment mounts its own
         * root over it inside its own mount namespace */
        snprintf(c.root, sizeof(c.root), "%s/run/mnt", cfg->state_dir);
        if ((r = rp_mkdir_p(c.root, 0755)) < 0) {
                rp_err_set(err, r, "sandbox: cannot create '%s': %s", c.root, strerror(-r));
                goto fail;
        }

        if (cfg->log_path)
                snprintf(logp, sizeof(logp), "%s", cfg->log_path);
        else
                snprintf(logp, sizeof(logp), "%s/log/%s.log", cfg->state_dir, m->name);
        {
                char dir[4300];
                snprintf(dir, sizeof(dir), "%s", logp);
                char *slash = strrchr(dir, '/');
                if (slash && slash != dir) {
                        *slash = '\0';
                        if ((r = rp_mkdir_p(dir, 0750)) < 0) {
                                rp_err_set(err, r, "sandbox: cannot create '%s': %s", dir, strerror(-r));
                                goto fail;
                        }
                }
        }
        log_fd = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (log_fd < 0) {
                r = rp_err_set(err, -errno, "sandbox: log file '%s': %s", logp, strerror(errno));
                goto fail;
        }
        c.log_fd = log_fd;

        if ((r = sbx_limits_prepare(&app->lim, m->component_id, cfg->memory_bytes, cfg->max_pids,
                                    cfg->allow_cgroup, err)) < 0)
                goto fail;
        if (m->storage_kb &&
            (r = sbx_storage_prepare(&app->storage, cfg->state_dir, m->component_id, m->storage_kb, app->uid,
                                     app->uid, err)) < 0)
                goto fail;
        if ((r = sbx_egress_init(&app->eg, m, cfg->hosts_file, err)) < 0)
                goto fail;

        if (pipe2(sync_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 || pipe2(st_p, O_CLOEXEC) < 0 ||
            socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = rp_err_set(err, -errno, "sandbox: pipes: %s", strerror(errno));
                goto fail;
        }
        c.sync_rd = sync_p[0];
        c.err_wr = err_p[1];
        c.status_wr = st_p[1];
        c.sock = sp[1];

        int pidfd = -1;
        struct clone_args ca = {
                .flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_PIDFD,
                .pidfd = (uint64_t)(uintptr_t)&pidfd,
                .exit_signal = SIGCHLD,
        };
        fflush(NULL);
        pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid < 0) {
                r = rp_err_set(err, -errno, "sandbox: clone3 with new namespaces: %s", strerror(errno));
                goto fail;
        }
        if (pid == 0) {
                close(sync_p[1]);
                close(err_p[0]);
                close(st_p[0]);
                close(sp[0]);
                child_init(&c);
        }
        app->pid = pid;
        app->pidfd = pidfd;
        close_fd(&sync_p[0]);
        close_fd(&err_p[1]);
        close_fd(&st_p[1]);
        close_fd(&sp[1]);
        app->status_fd = steal_fd(st_p[0]);

        if ((r = sbx_limits_attach(&app->lim, pid, err)) < 0)
                goto fail;
        if (write(sync_p[1], "g", 1) != 1) {
                r = rp_err_set(err, -errno, "sandbox: starting the compartment: %s", strerror(errno));
                goto fail;
        }
        close_fd(&sync_p[1]);
        int etc_fd = recv_fd(sp[0]);
        int nfd = etc_fd >= 0 ? recv_fd(sp[0]) : etc_fd;
        /* read the failure message (if any) until every writer is gone,
         * i.e. the app has exec'd or the compartment has failed */
        ssize_t n, tot = 0;
        while ((n = read(err_p[0], errmsg + tot, sizeof(errmsg) - 1 - (size_t)tot)) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                tot += n;
                if ((size_t)tot >= sizeof(errmsg) - 1)
                        break;
        }
        errmsg[tot] = '\0';
        if (tot > 0 || nfd < 0) {
                if (nfd >= 0)
                        close(nfd);
                if (etc_fd >= 0)
                        close(etc_fd);
                r = rp_err_set(err, -ECHILD, "%s", tot > 0 ? errmsg : "sandbox: the compartment exited during setup");
                goto fail;
        }
        app->notify_fd = nfd;
        /* the app waits on the runtime for every connect: have the kernel
         * switch straight to the woken side instead of queueing it on
         * another CPU (Linux 6.6+; older kernels just answer EINVAL) */
        (void)ioctl(nfd, SBX_SECCOMP_IOCTL_NOTIF_SET_FLAGS, SBX_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
        if ((r = sbx_egress_set_etc(&app->eg, etc_fd, err)) < 0)
                goto fail;
        sbx_storage_release(&app->storage);
        app->landlock_abi = sbx_landlock_abi();
        app->last_refresh_ms = now_ms();
        close_fd(&err_p[0]);
        close_fd(&sp[0]);
        *ret = app;
        return 0;

fail:
        for (int i = 0; i < 2; i++) {
                close_fd(&sync_p[i]);
                close_fd(&err_p[i]);
                close_fd(&st_p[i]);
                close_fd(&sp[i]);
        }
        sbx_app_free(app);
        return r;
}

static void collect(struct sbx_app *app)
{
        int st = 0, init_st = 0;
        if (app->exited || app->pid <= 0)
                return;
        while (waitpid(app->pid, &init_st, 0) < 0 && errno == EINTR)
                ;
        ssize_t n = read(app->status_fd, &st, sizeof(st));
        app->status = n == (ssize_t)sizeof(st) ? st : init_st;
        app->exited = true;
}

int sbx_serve(struct sbx_app *app, int timeout_ms)
{
        struct pollfd p[2] = {
                { .fd = app->pidfd, .events = POLLIN },
                { .fd = app->notify_fd, .events = POLLIN },
        };
        uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);

        if (app->exited)
                return 1;
        for (;;) {
                uint64_t t = now_ms();
                int wait = t >= deadline ? 0 : (int)(deadline - t);
                if (wait > 1000)
                        wait = 1000;
                int r = poll(p, app->notify_fd >= 0 ? 2 : 1, wait);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r > 0 && (p[0].revents & POLLIN)) {
                        collect(app);
                        return 1;
                }
                if (r > 0 && app->notify_fd >= 0 && (p[1].revents & POLLIN)) {
                        int h = sbx_egress_handle(&app->eg, app->notify_fd);
                        if (h < 0 && h != -ENOENT)
                                rp_warn("sandbox", "app '%s': egress listener: %s", app->m->name, strerror(-h));
                } else if (r > 0 && app->notify_fd >= 0 && (p[1].revents & (POLLHUP | POLLERR))) {
                        /* every filtered task is gone; wait for init alone */
                        close(app->notify_fd);
                        app->notify_fd = -1;
                }
                if (now_ms() - app->last_refresh_ms >= 1000) {
                        struct rp_err e = {0};
                        if (sbx_egress_refresh(&app->eg, false, &e) < 0)
                                rp_warn("sandbox", "app '%s': %s", app->m->name, e.msg);
                        app->last_refresh_ms = now_ms();
                }
                if (r == 0 && now_ms() >= deadline)
                        return 0;
                if (r < 0 && now_ms() >= deadline)
                        return 0;
        }
}

int sbx_signal(struct sbx_app *app, int sig)
{
        if (app->exited)
                return -ESRCH;
        if (syscall(SYS_pidfd_send_signal, app->pidfd, sig, NULL, 0) < 0)
                return -errno;
        return 0;
}

void sbx_app_free(struct sbx_app *app)
{
        if (!app)
                return;
        if (app->pid > 0 && !app->exited) {
                if (app->pidfd >= 0)
                        (void)syscall(SYS_pidfd_send_signal, app->pidfd, SIGKILL, NULL, 0);
                else
                        kill(app->pid, SIGKILL);
                collect(app);
        }
        close_fd(&app->notify_fd);
        close_fd(&app->pidfd);
        close_fd(&app->status_fd);
        sbx_storage_unlock(&app->storage);
        sbx_limits_release(&app->lim);
        sbx_egress_done(&app->eg);
        free(app);
}
