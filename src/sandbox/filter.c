/* filter.c - see filter.h. */
#include "sandbox/filter.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fileio.h"

/* What an ordinary program (glibc, a shell, a TLS client) needs. Names the
 * running libseccomp does not know are skipped. */
static const char *const allowed[] = {
        "read", "write", "open", "openat", "openat2", "close", "close_range", "stat", "fstat", "lstat",
        "newfstatat", "statx", "poll", "ppoll", "lseek", "mmap", "mprotect", "munmap", "brk",
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
        "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigsuspend", "sigaltstack", "pread64", "pwrite64",
        "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2", "access", "faccessat",
        "faccessat2", "pipe", "pipe2", "select", "pselect6", "sched_yield", "mremap", "msync",
        "mincore", "madvise", "dup", "dup2", "dup3", "pause", "nanosleep", "clock_nanosleep",
        "getitimer", "setitimer", "alarm", "getpid", "sendfile", "accept", "accept4",
        "recvfrom", "recvmsg", "recvmmsg", "shutdown", "listen",
        "getsockname", "getpeername", "socketpair", "setsockopt", "getsockopt", "fork", "vfork",
        "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "kill", "tgkill", "tkill",
        "uname", "fcntl", "flock", "fsync", "fdatasync", "truncate", "ftruncate", "getdents",
        "getdents64", "getcwd", "chdir", "fchdir", "rename", "renameat", "renameat2", "mkdir",
        "mkdirat", "rmdir", "creat", "link", "linkat", "unlink", "unlinkat", "symlink", "symlinkat",
        "readlink", "readlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown",
        "fchownat", "umask", "gettimeofday", "getrlimit", "setrlimit", "prlimit64", "getrusage",
        "sysinfo", "times", "getuid", "getgid", "geteuid", "getegid", "getppid", "getpgrp",
        "getpgid", "setpgid", "setsid", "getsid", "getgroups", "getresuid", "getresgid", "capget",
        "utime", "utimes", "utimensat", "futimesat", "statfs", "fstatfs", "getpriority",
        "setpriority", "sched_getparam", "sched_getscheduler", "sched_getaffinity",
        "sched_setaffinity", "sched_get_priority_max", "sched_get_priority_min", "prctl",
        "arch_prctl", "gettid", "futex", "futex_waitv", "set_robust_list", "get_robust_list",
        "set_tid_address", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
        "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create", "timerfd_settime",
        "timerfd_gettime", "signalfd", "signalfd4", "inotify_init", "inotify_init1",
        "inotify_add_watch", "inotify_rm_watch", "clock_gettime", "clock_getres", "time",
        "getrandom", "memfd_create", "mlock", "mlock2", "munlock", "rseq", "restart_syscall",
        "fadvise64", "fallocate", "copy_file_range", "splice", "tee", "sync_file_range", "readahead",
        "membarrier", "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semtimedop", "semctl",
        "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
        "mq_timedreceive", "mq_notify", "mq_getsetattr", "getxattr", "lgetxattr", "fgetxattr",
        "listxattr", "llistxattr", "flistxattr", "sync", "syncfs", "pidfd_open", "pidfd_send_signal",
        "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "seccomp",
};

static const int netlink_ok[] = { NETLINK_ROUTE };

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
                  CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* libseccomp's SCMP_A*_32 macros leave datum_b unset, which clang flags. */
static struct scmp_arg_cmp cmp(unsigned arg, enum scmp_compare op, uint64_t a, uint64_t b)
{
        return (struct scmp_arg_cmp){ .arg = arg, .op = op, .datum_a = a, .datum_b = b };
}

static int build_ctx(scmp_filter_ctx ctx)
{
        int r;
        for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
                int nr = seccomp_syscall_resolve_name(allowed[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue;
                if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
                        return r;
        }
        /* ioctl: the compartment holds no terminal (stdin is /dev/null, a
         * new session, no tty in /dev), so there is nothing to inject into;
         * a TIOCSTI filter would be bypassable anyway, since the kernel
         * truncates the command to 32 bits and BPF compares 64 */
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 0)) < 0)
                return r;
        /* threads and processes, never new namespaces; clone3 hides its
         * flags in memory, so make the C library fall back to clone */
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                  cmp(0, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0))) < 0)
                return r;
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
                return r;
        /* sockets: no raw, no packet, no other families */
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                  cmp(0, SCMP_CMP_EQ, AF_UNIX, 0))) < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(netlink_ok); i++)
                if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
                                          cmp(0, SCMP_CMP_EQ, AF_NETLINK, 0),
                                          cmp(2, SCMP_CMP_EQ, (uint32_t)netlink_ok[i], 0))) < 0)
                        return r;
        /* TCP and UDP only: SCTP or MPTCP streams could reach addresses
         * other than the one connect() named */
        static const int fam[] = { AF_INET, AF_INET6 };
        static const struct { int type, proto; } typ[] = {
                { SOCK_STREAM, 0 }, { SOCK_STREAM, IPPROTO_TCP }, { SOCK_DGRAM, 0 }, { SOCK_DGRAM, IPPROTO_UDP },
        };
        for (size_t f = 0; f < ARRAY_SIZE(fam); f++)
                for (size_t t = 0; t < ARRAY_SIZE(typ); t++)
                        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 3,
                                                  cmp(0, SCMP_CMP_EQ, (uint32_t)fam[f], 0),
                                                  cmp(1, SCMP_CMP_MASKED_EQ, 0xf, (uint32_t)typ[t].type),
                                                  cmp(2, SCMP_CMP_EQ, (uint32_t)typ[t].proto, 0))) < 0)
                                return r;
        /* TCP fast open would connect from inside send*(), past the egress
         * firewall, on a socket the runtime bound for a server port */
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1,
                                  cmp(3, SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, 0))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1,
                                  cmp(2, SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, 0))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmmsg), 1,
                                  cmp(3, SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, 0))) < 0)
                return r;
        /* the egress firewall decides these */
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0)) < 0)
                return r;
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(bind), 0)) < 0)
                return r;
        /* querying the personality is harmless; changing it is not allowed */
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                                  cmp(0, SCMP_CMP_EQ, 0xffffffffu, 0))) < 0)
                return r;
        return 0;
}

int sbx_filter_build(struct sbx_filter *ret, struct rp_err *err)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        uint8_t *bpf = NULL;
        size_t len = 0;
        int r;

        if (!ctx)
                return rp_err_set(err, -ENOMEM, "seccomp: cannot create a filter context");
        /* a binary search over syscall numbers: every syscall of the app
         * runs this filter, so its depth matters more than its build time */
        if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
            (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0 ||
            (r = build_ctx(ctx)) < 0) {
                seccomp_release(ctx);
                return rp_err_set(err, r, "seccomp: building the allowlist failed: %s", strerror(-r));
        }
        _cleanup_close_ int mfd = memfd_create("rampart-seccomp", MFD_CLOEXEC);
        if (mfd < 0 || (r = seccomp_export_bpf(ctx, mfd)) < 0) {
                r = mfd < 0 ? -errno : r;
                seccomp_release(ctx);
                return rp_err_set(err, r, "seccomp: exporting the filter failed: %s", strerror(-r));
        }
        seccomp_release(ctx);
        if (lseek(mfd, 0, SEEK_SET) < 0 || (r = rp_read_fd(mfd, 65536, &bpf, &len)) < 0)
                return rp_err_set(err, r < 0 ? r : -EIO, "seccomp: reading the exported filter failed");
        if (len == 0 || len % sizeof(struct sock_filter) != 0 ||
            len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
                free(bpf);
                return rp_err_set(err, -EINVAL, "seccomp: exported filter has %zu bytes", len);
        }
        ret->insns = (struct sock_filter *)(void *)bpf;
        ret->len = (unsigned short)(len / sizeof(struct sock_filter));
        return 0;
}

void sbx_filter_free(struct sbx_filter *f)
{
        if (!f)
                return;
        free(f->insns);
        f->insns = NULL;
        f->len = 0;
}

int sbx_filter_install(const struct sbx_filter *f)
{
        struct sock_fprog prog = { .len = f->len, .filter = f->insns };
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        return r < 0 ? -errno : (int)r;
}
