/* boot_main.c - rampart-boot: the ROM, bootloader and security monitor of
 * an emulated Rampart device (DESIGN.md §2).
 *
 *   rampart-boot [--user USER] [--max-boots N] DIR -- PROGRAM [ARGS...]
 *
 * Each boot: read the fuses; pick an OS slot (A/B priorities, trial
 * attempts, reverts); verify the slot's package against the fused platform
 * keys and the anti-rollback floor; measure it; derive the DeviceID and
 * Alias keys from the UDS and wipe the UDS and CDI; issue the Alias
 * certificate; start PROGRAM (the normal world) with the monitor socket in
 * RAMPART_MONITOR_FD and serve the monitor until it exits. Exit code 64 (or
 * a reboot request) boots again; any other code powers off with that code.
 * No bootable slot: a recovery message and exit code 3. */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "dice/dice.h"
#include "lib/cleanup.h"
#include "lib/fault.h"
#include "monitor/mon_server.h"

#define EXIT_FATAL 1
#define EXIT_USAGE 2
#define REBOOT_GRACE_MS 3000

struct opts {
        const char *dir;
        char **argv;
        const char *user;
        unsigned long max_boots;
};

struct confirm_ctx {
        struct rot *rot;
        const char *dir;
        int slot;
};

static int confirm_slot(void *userdata, struct rp_err *err)
{
        struct confirm_ctx *cc = userdata;
        struct slotstate st;
        int r = boot_state_load(cc->rot, &st, err);

        if (r < 0)
                return r;
        if (!st.slot[cc->slot].trial)
                return 0;
        st.slot[cc->slot].trial = false;
        st.slot[cc->slot].attempts = 0;
        r = boot_state_store(cc->rot, &st, "boot-confirm", err);
        if (r == 0)
                boot_event(cc->rot, st.bootcount, "confirm slot=%c", slot_letter(cc->slot));
        return r;
}

/* install-os from the monitor: always into the slot that is not running,
 * always as a trial that the new OS must confirm. */
static int install_other(void *userdata, int fd, unsigned attempts, char ret_slot[2],
                         char ret_version[65], uint32_t *ret_svn, struct rp_err *err)
{
        struct confirm_ctx *cc = userdata;
        struct img_meta meta;
        struct stat st;
        int other = 1 - cc->slot, r;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return rp_err_set(err, -EINVAL, "the package descriptor is not a regular file");
        r = boot_slot_install_fd(cc->rot, cc->dir, other, fd, attempts, &meta, err);
        if (r < 0)
                return r;
        ret_slot[0] = slot_letter(other);
        ret_slot[1] = 0;
        snprintf(ret_version, 65, "%s", meta.version);
        *ret_svn = meta.svn;
        return 0;
}

static int load_cert(const char *dir, const char *name, struct cr_cert **ret, struct rp_err *err)
{
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        return cr_cert_load_pem(p, ret, err);
}

/* Tries one slot; 0 with v and meta filled when it verifies. */
static int try_slot(const char *dir, int slot, struct cr_key *const *keys, size_t n_keys,
                    uint64_t floor, struct img_verified *v, struct img_meta *meta,
                    struct rp_err *err)
{
        _cleanup_free_ char *path = boot_slot_path(dir, slot);
        _cleanup_close_ int fd = -1;

        if (!path)
                return rp_err_set(err, -ENOMEM, "out of memory");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        return boot_verify_os(fd, keys, n_keys, floor, v, meta, err);
}

/* One pass of the boot flow. 0: ctx is ready for the normal world.
 * BOOT_EXIT_RECOVERY: nothing bootable. < 0: fatal device error. */
static int boot_once(const struct opts *o, struct rot *rot, struct mon_ctx *ctx,
                     struct confirm_ctx *cc, struct rp_err *err)
{
        _cleanup_free_ struct img_verified *v = malloc(sizeof(*v));
        _cleanup_(cr_key_freep) struct cr_key *devkey = NULL;
        _cleanup_(cr_key_freep) struct cr_key *devpub = NULL;
        _cleanup_(rp_secret32_wipe) struct rp_secret32 uds = {{0}};
        struct cr_key *keys[ROT_MAX_PLATFORM_KEYS] = {0};
        uint8_t dev_id[DICE_ID_LEN], alias_id[DICE_ID_LEN];
        char reasons[2][RP_ERR_MSG_MAX] = {"not bootable", "not bootable"};
        struct rot_fuses f;
        struct slotstate st;
        struct img_meta meta;
        struct dice_inputs in;
        struct dice_tcb_info tcb;
        uint64_t floor;
        int order[SLOT_COUNT], n, slot = -1, r;

        if (!v)
                return rp_err_set(err, -ENOMEM, "out of memory");
        /* the fuses are read once: UDS and public fuses together */
        r = rot_uds_read(rot, &uds, &f, err);
        if (r == -ENODEV)
                return rp_err_set(err, r, "device '%s' is blank: provision it with "
                                  "'rampart-device provision'", o->dir);
        if (r == 0)
                r = dice_deviceid_derive(&uds, &devkey, dev_id, err);
        if (r == 0)
                r = load_cert(o->dir, "deviceid.pem", &ctx->deviceid_cert, err);
        if (r == 0)
                r = load_cert(o->dir, "device_ca.pem", &ctx->device_ca, err);
        if (r < 0)
                return r;
        r = cr_cert_pubkey(ctx->deviceid_cert, &devpub);
        if (r < 0 || !cr_key_pub_equal(devpub, devkey))
                return rp_err_set(err, -EKEYREJECTED, "deviceid.pem of '%s' does not certify "
                                  "the DeviceID key derived from the fused UDS", o->dir);
        r = rot_counter_read(rot, BOOT_OS_COUNTER, &floor, err);
        if (r < 0)
                return r;
        r = boot_state_load(rot, &st, err);
        if (r < 0) {
                /* Writes are atomic, so this is tampering or decay: fall back
                 * to trying both slots; verification still decides. */
                boot_event(rot, 0, "slotstate-corrupt reason=%s", err->msg);
                memset(&st, 0, sizeof(st));
                st.slot[0].priority = st.slot[1].priority = 1;
        }
        for (int i = 0; i < SLOT_COUNT; i++)
                if (slotstate_trial_expired(&st, i)) {
                        boot_event(rot, st.bootcount, "revert slot=%c reason=trial was not "
                                   "confirmed within its boot attempts", slot_letter(i));
                        snprintf(reasons[i], sizeof(reasons[i]), "trial expired unconfirmed");
                        st.slot[i].priority = 0;
                        st.slot[i].trial = false;
                        r = boot_state_store(rot, &st, "boot-revert", err);
                        if (r < 0)
                                return r;
                }
        n = boot_platform_keys(&f, keys, err);
        if (n < 0)
                return n;
        int n_order = slotstate_order(&st, order);
        for (int i = 0; i < n_order && slot < 0; i++) {
                struct rp_err e = {0};
                r = try_slot(o->dir, order[i], keys, (size_t)n, floor, v, &meta, &e);
                if (r == 0) {
                        slot = order[i];
                        break;
                }
                snprintf(reasons[order[i]], sizeof(reasons[0]), "%s", e.msg);
                boot_event(rot, st.bootcount, "skip slot=%c reason=%s", slot_letter(order[i]),
                           e.msg);
        }
        boot_keys_free(keys);
        if (slot < 0) {
                boot_event(rot, st.bootcount, "recovery reason=no bootable OS slot");
                fprintf(stderr, "rampart-boot: RECOVERY: no bootable OS slot on '%s'\n"
                                "  slot a: %s\n  slot b: %s\n"
                                "  install a signed OS image: rampart-device install-os %s "
                                "--slot a PKG\n", o->dir, reasons[0], reasons[1], o->dir);
                return BOOT_EXIT_RECOVERY;
        }
        /* commit the boot before the normal world runs */
        st.bootcount++;
        if (st.slot[slot].trial)
                st.slot[slot].attempts--;
        r = boot_state_store(rot, &st, "boot-commit", err);
        if (r < 0)
                return r;

        /* measure, derive the Alias key, and wipe the UDS for good */
        memset(&in, 0, sizeof(in));
        memcpy(in.code_hash, v->image_digest, CR_SHA256_LEN);
        in.svn = v->hdr.svn;
        in.debug = f.debug;
        in.locked = f.lifecycle == ROT_LC_LOCKED;
        r = dice_alias_derive(&uds, &in, &ctx->alias, alias_id, err);
        rp_secret32_wipe(&uds);
        if (r < 0)
                return r;
        memset(&tcb, 0, sizeof(tcb));
        snprintf(tcb.vendor, sizeof(tcb.vendor), "rampart");
        snprintf(tcb.model, sizeof(tcb.model), "%s", meta.name);
        snprintf(tcb.version, sizeof(tcb.version), "%s", meta.version);
        tcb.svn = v->hdr.svn;
        tcb.layer = 1;
        memcpy(tcb.fwid, v->image_digest, CR_SHA256_LEN);
        tcb.flags = (f.debug ? DICE_FLAG_DEBUG | DICE_FLAG_NOT_SECURE : 0) |
                    (f.lifecycle != ROT_LC_LOCKED ? DICE_FLAG_NOT_CONFIGURED : 0);
        r = dice_alias_cert_issue(ctx->deviceid_cert, devkey, ctx->alias, alias_id, dev_id, &tcb,
                                  &ctx->alias_cert, err);
        if (r < 0)
                return r;

        dice_id_hex(dev_id, ctx->ueid);
        ctx->slot[0] = slot_letter(slot);
        ctx->slot[1] = 0;
        snprintf(ctx->os_name, sizeof(ctx->os_name), "%s", meta.name);
        snprintf(ctx->os_version, sizeof(ctx->os_version), "%s", meta.version);
        ctx->svn = v->hdr.svn;
        ctx->bootcount = st.bootcount;
        ctx->debug = f.debug;
        ctx->trial = st.slot[slot].trial;
        ctx->lifecycle = f.lifecycle;
        memcpy(ctx->fwid, v->image_digest, CR_SHA256_LEN);
        ctx->rot = rot;
        cc->rot = rot;
        cc->dir = o->dir;
        cc->slot = slot;
        ctx->confirm = confirm_slot;
        ctx->install = install_other;
        ctx->userdata = cc;
        boot_event(rot, st.bootcount, "boot slot=%c os=%s version=%s svn=%u trial=%d attempts=%u",
                   ctx->slot[0], meta.name, meta.version, ctx->svn, ctx->trial,
                   st.slot[slot].attempts);
        fprintf(stderr, "rampart-boot: boot %llu: slot %c, %s %s (svn %u)%s, device %s\n",
                (unsigned long long)st.bootcount, ctx->slot[0], meta.name, meta.version, ctx->svn,
                ctx->trial ? " [trial]" : "", ctx->ueid);
        return 0;
}

static void exec_normal_world(const struct opts *o, int fd, const char *slot, pid_t parent)
{
        char num[16];

        setpgid(0, 0);
        if (fcntl(fd, F_SETFD, 0) < 0)
                _exit(127);
        snprintf(num, sizeof(num), "%d", fd);
        setenv("RAMPART_MONITOR_FD", num, 1);
        setenv("RAMPART_BOOT_SLOT", slot, 1);
        if (o->user) {
                struct passwd *pw = getpwnam(o->user);
                if (!pw || setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
                    setuid(pw->pw_uid) < 0 || setuid(0) == 0) {
                        fprintf(stderr, "rampart-boot: cannot drop to user '%s'\n", o->user);
                        _exit(127);
                }
        }
        /* power loss: when rampart-boot dies, the normal world dies too
         * (set after the uid change, which clears it) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(127);
        execvp(o->argv[0], o->argv);
        fprintf(stderr, "rampart-boot: cannot start '%s': %s\n", o->argv[0], strerror(errno));
        _exit(127);
}

/* Receives one record; keeps the first descriptor passed with it (any
 * others are closed). */
static ssize_t recv_record(int sock, uint8_t *buf, int *ret_fd)
{
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(4 * sizeof(int))];
        } cm;
        struct iovec iov = {buf, MON_MAX_MSG};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                            .msg_controllen = sizeof(cm.b)};
        ssize_t n = recvmsg(sock, &mh, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        *ret_fd = -1;
        if (n < 0)
                return n;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
                if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                        continue;
                for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
                        if (*ret_fd < 0)
                                *ret_fd = fd;
                        else
                                close(fd);
                }
        }
        return n;
}

static long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the normal world and serves the monitor; returns its wait status. */
static int run_normal_world(const struct opts *o, struct mon_ctx *ctx, int *ret_status)
{
        _cleanup_free_ uint8_t *buf = malloc(MON_MAX_MSG);
        _cleanup_free_ struct mon_enc *out = malloc(sizeof(*out));
        _cleanup_close_ int pidfd = -1;
        int sv[2], status = 0;
        long kill_at = -1;
        int kill_stage = 0;     /* after a reboot request: 1 grace, 2 SIGTERM sent */
        bool sock_open = true;
        pid_t pid, parent;

        if (!buf || !out)
                return -ENOMEM;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        fflush(NULL);
        parent = getpid();
        pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return -errno;
        }
        if (pid == 0) {
                close(sv[0]);
                exec_normal_world(o, sv[1], ctx->slot, parent);
        }
        close(sv[1]);
        setpgid(pid, pid);
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                int r = -errno;
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                close(sv[0]);
                return r;
        }
        for (;;) {
                struct pollfd p[2] = {{pidfd, POLLIN, 0}, {sv[0], POLLIN, 0}};
                int timeout = kill_at < 0 ? -1 : (int)(kill_at - now_ms());
                int n = poll(p, sock_open ? 2 : 1, timeout < 0 && kill_at >= 0 ? 0 : timeout);

                if (n < 0 && errno == EINTR)
                        continue;
                if (kill_at >= 0 && now_ms() >= kill_at) {
                        /* the normal world had its chance to shut down */
                        kill(-pid, kill_stage == 1 ? SIGTERM : SIGKILL);
                        kill_at = kill_stage == 1 ? now_ms() + REBOOT_GRACE_MS : -1;
                        kill_stage++;
                }
                if (p[0].revents & POLLIN) {
                        waitpid(pid, &status, 0);
                        break;
                }
                if (sock_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                        int passed;
                        ssize_t len = recv_record(sv[0], buf, &passed);
                        if (len < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (len <= 0) {
                                if (passed >= 0)
                                        close(passed);
                                sock_open = false;      /* peer closed its end */
                                continue;
                        }
                        mon_handle(ctx, buf, (size_t)len, passed, out);
                        if (passed >= 0)
                                close(passed);
                        if (send(sv[0], out->buf, out->len, MSG_NOSIGNAL) < 0)
                                sock_open = false;
                        if (ctx->reboot_requested && kill_stage == 0) {
                                kill_at = now_ms() + REBOOT_GRACE_MS;
                                kill_stage = 1;
                        }
                }
        }
        kill(-pid, SIGKILL);    /* power cycle: nothing of the old world survives */
        close(sv[0]);
        *ret_status = status;
        return 0;
}

static int usage(FILE *f, int code)
{
        fprintf(f, "usage: rampart-boot [--user USER] [--max-boots N] DIR -- PROGRAM [ARGS...]\n\n"
                   "Boots the emulated device in DIR: verifies and measures an OS slot, derives\n"
                   "the DICE identity and runs PROGRAM as the normal world with the security\n"
                   "monitor on the descriptor in RAMPART_MONITOR_FD.\n\n"
                   "  --user USER     run the normal world as USER (drops root)\n"
                   "  --max-boots N   power off after N boots (default: unlimited)\n\n"
                   "exit: PROGRAM's code when it powers off; PROGRAM exit %d reboots;\n"
                   "      %d no bootable slot (recovery); 1 device error; 2 usage.\n",
                BOOT_EXIT_REBOOT, BOOT_EXIT_RECOVERY);
        return code;
}

int main(int argc, char **argv)
{
        struct opts o = {0};
        int i;

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
                        return usage(stdout, 0);
                if (!strcmp(argv[i], "--user") && i + 1 < argc) {
                        o.user = argv[++i];
                } else if (!strcmp(argv[i], "--max-boots") && i + 1 < argc) {
                        char *end;
                        o.max_boots = strtoul(argv[++i], &end, 10);
                        if (*end || !o.max_boots) {
                                fprintf(stderr, "rampart-boot: --max-boots '%s' is not a positive "
                                                "number\n", argv[i]);
                                return EXIT_USAGE;
                        }
                } else if (!strcmp(argv[i], "--")) {
                        o.argv = argv + i + 1;
                        break;
                } else if (argv[i][0] == '-' || o.dir) {
                        fprintf(stderr, "rampart-boot: unexpected argument '%s'\n", argv[i]);
                        return usage(stderr, EXIT_USAGE);
                } else {
                        o.dir = argv[i];
                }
        }
        if (!o.dir || !o.argv || !o.argv[0])
                return usage(stderr, EXIT_USAGE);

        for (unsigned long boots = 1;; boots++) {
                struct mon_ctx ctx = {0};
                struct confirm_ctx cc = {0};
                struct rp_err err = {0};
                struct rot *rot = NULL;
                int status = 0, r;

                r = rot_open(o.dir, &rot, &err);
                if (r == 0)
                        r = boot_once(&o, rot, &ctx, &cc, &err);
                if (r == 0) {
                        r = run_normal_world(&o, &ctx, &status);
                        if (r < 0)
                                rp_err_set(&err, r, "cannot run the normal world: %s",
                                           strerror(-r));
                }
                bool reboot = ctx.reboot_requested;
                mon_ctx_clear(&ctx);
                rot_close(rot);
                if (r == BOOT_EXIT_RECOVERY)
                        return BOOT_EXIT_RECOVERY;
                if (r < 0) {
                        fprintf(stderr, "rampart-boot: %s\n", err.msg);
                        return EXIT_FATAL;
                }
                if (WIFEXITED(status) && WEXITSTATUS(status) == BOOT_EXIT_REBOOT)
                        reboot = true;
                if (!reboot) {
                        if (WIFSIGNALED(status))
                                return 128 + WTERMSIG(status);
                        return WEXITSTATUS(status);
                }
                if (o.max_boots && boots >= o.max_boots) {
                        fprintf(stderr, "rampart-boot: reboot requested; --max-boots %lu "
                                        "reached, powering off\n", o.max_boots);
                        return 0;
                }
                fprintf(stderr, "rampart-boot: rebooting\n");
        }
}
