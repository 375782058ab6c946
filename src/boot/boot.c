/* boot.c - slot state storage, verification, installation and the event
 * log (see boot.h). */
#include "boot/boot.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fault.h"
#include "lib/fileio.h"

int boot_state_load(struct rot *rot, struct slotstate *ret, struct rp_err *err)
{
        _cleanup_free_ uint8_t *d = NULL;
        size_t n;
        int r = rot_nv_read(rot, "slotstate", &d, &n, err);

        if (r == -ENOENT) {
                memset(ret, 0, sizeof(*ret));
                return 0;
        }
        if (r < 0)
                return r;
        return slotstate_parse(d, n, ret, err);
}

int boot_state_store(struct rot *rot, const struct slotstate *s, const char *fault,
                     struct rp_err *err)
{
        uint8_t raw[SLOTSTATE_LEN];
        slotstate_encode(s, raw);
        RP_FAULT_POINT(fault);
        return rot_nv_write(rot, "slotstate", raw, sizeof(raw), err);
}

void boot_event(struct rot *rot, uint64_t bootcount, const char *fmt, ...)
{
        _cleanup_free_ uint8_t *old = NULL;
        char line[BOOT_EVENT_LINE_MAX];
        size_t n = 0, keep = 0, lines = 0;
        uint8_t *out;
        va_list ap;
        int len;

        len = snprintf(line, sizeof(line), "%lld boot=%llu ", (long long)time(NULL),
                       (unsigned long long)bootcount);
        va_start(ap, fmt);
        vsnprintf(line + len, sizeof(line) - (size_t)len - 1, fmt, ap);
        va_end(ap);
        for (char *p = line; *p; p++)
                if (*p < 0x20 || *p > 0x7e)
                        *p = '?';
        strcat(line, "\n");
        if (rot_nv_read(rot, "events", &old, &n, NULL) < 0)
                n = 0;
        /* keep the newest BOOT_EVENTS_MAX_LINES - 1 lines */
        for (size_t i = n; i > 0; i--)
                if (old[i - 1] == '\n' && i != n && ++lines == BOOT_EVENTS_MAX_LINES - 1) {
                        keep = i;
                        break;
                }
        out = malloc(n - keep + strlen(line) + 1);
        if (!out)
                return;
        memcpy(out, old + keep, n - keep);
        memcpy(out + n - keep, line, strlen(line));
        RP_FAULT_POINT("boot-event");
        if (rot_nv_write(rot, "events", out, n - keep + strlen(line), NULL) < 0)
                fprintf(stderr, "rampart-boot: cannot record event: %s", line);
        free(out);
}

int boot_platform_keys(const struct rot_fuses *f, struct cr_key *keys[ROT_MAX_PLATFORM_KEYS],
                       struct rp_err *err)
{
        size_t i;
        for (i = 0; i < ROT_MAX_PLATFORM_KEYS; i++)
                keys[i] = NULL;
        if (f->n_platform_keys == 0)
                return rp_err_set(err, -ENOKEY, "no platform keys are fused: this device "
                                  "cannot verify any OS image");
        for (i = 0; i < f->n_platform_keys; i++) {
                int r = cr_key_pub_from_raw(f->platform_keys[i], &keys[i], err);
                if (r < 0) {
                        boot_keys_free(keys);
                        return rp_err_prefix(err, "platform key %zu in the fuses", i);
                }
        }
        return (int)f->n_platform_keys;
}

void boot_keys_free(struct cr_key *keys[ROT_MAX_PLATFORM_KEYS])
{
        for (size_t i = 0; i < ROT_MAX_PLATFORM_KEYS; i++) {
                cr_key_free(keys[i]);
                keys[i] = NULL;
        }
}

char *boot_slot_path(const char *dir, int slot)
{
        char *p = NULL;
        if (asprintf(&p, "%s/slots/%c.pkg", dir, slot_letter(slot)) < 0)
                return NULL;
        return p;
}

int boot_verify_os(int fd, struct cr_key *const *keys, size_t n_keys, uint64_t floor,
                   struct img_verified *ret, struct img_meta *ret_meta, struct rp_err *err)
{
        int r = img_verify_signed(img_fd_read, &fd, keys, n_keys, ret, err);
        if (r < 0)
                return r;
        if (ret->hdr.type != IMG_TYPE_OS)
                return rp_err_set(err, -EMEDIUMTYPE, "image type is '%s', not 'os'",
                                  img_type_name(ret->hdr.type) ? img_type_name(ret->hdr.type)
                                                               : "unknown");
        if (ret->hdr.svn < floor)
                return rp_err_set(err, -ESTALE, "image SVN %u is below the anti-rollback floor "
                                  "%llu", ret->hdr.svn, (unsigned long long)floor);
        return img_meta_parse(ret, ret_meta, err);
}

static int copy_durable(int in, const char *dest, struct rp_err *err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int out = -1;
        char buf[65536];
        ssize_t n;
        int r;

        if (asprintf(&tmp, "%s.new", dest) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (out < 0)
                return rp_err_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
        if (lseek(in, 0, SEEK_SET) < 0)
                return rp_err_set(err, -errno, "cannot rewind the package: %s", strerror(errno));
        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (r = rp_write_all(out, buf, (size_t)n)) < 0) {
                        r = n < 0 ? -errno : r;
                        unlink(tmp);
                        return rp_err_set(err, r, "cannot copy the package to '%s': %s", tmp,
                                          strerror(-r));
                }
        }
        RP_FAULT_POINT("install-copy");
        if (fsync(out) < 0) {
                r = -errno;
                unlink(tmp);
                return rp_err_set(err, r, "cannot sync '%s': %s", tmp, strerror(-r));
        }
        return rp_rename_durable(tmp, dest, err);
}

int boot_slot_install(struct rot *rot, const char *dir, int slot, const char *pkg,
                      unsigned trial_attempts, struct img_meta *ret_meta, struct rp_err *err)
{
        _cleanup_free_ struct img_verified *v = malloc(sizeof(*v));
        _cleanup_free_ char *path = boot_slot_path(dir, slot), *slots = NULL;
        _cleanup_close_ int fd = -1;
        struct cr_key *keys[ROT_MAX_PLATFORM_KEYS];
        struct rot_fuses f;
        struct slotstate st;
        struct img_meta meta;
        uint64_t floor;
        int r, n;

        if (!v || !path || asprintf(&slots, "%s/slots", dir) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (trial_attempts > SLOT_MAX_ATTEMPTS)
                return rp_err_set(err, -EINVAL, "trial attempts %u is over the limit of %d",
                                  trial_attempts, SLOT_MAX_ATTEMPTS);
        r = rot_fuses_read(rot, &f, err);
        if (r < 0)
                return r;
        if (f.lifecycle == ROT_LC_BLANK)
                return rp_err_set(err, -ENODEV, "device '%s' is blank: provision it first", dir);
        r = boot_state_load(rot, &st, err);
        if (r < 0)
                return r;
        r = rot_counter_read(rot, BOOT_OS_COUNTER, &floor, err);
        if (r < 0)
                return r;
        fd = open(pkg, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", pkg, strerror(errno));
        n = boot_platform_keys(&f, keys, err);
        if (n < 0)
                return n;
        r = boot_verify_os(fd, keys, (size_t)n, floor, v, &meta, err);
        boot_keys_free(keys);
        if (r < 0)
                return rp_err_prefix(err, "'%s' cannot be installed", pkg);
        r = rp_mkdir_p(slots, 0700);
        if (r < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", slots, strerror(-r));
        /* 1: the slot stops being bootable before its bytes change */
        if (st.slot[slot].priority) {
                st.slot[slot] = (struct slot_info){0};
                r = boot_state_store(rot, &st, "install-invalidate", err);
                if (r < 0)
                        return r;
        }
        /* 2: the verified bytes (the same descriptor, rewound) */
        r = copy_durable(fd, path, err);
        if (r < 0)
                return r;
        /* 3: preferred, as a trial or confirmed */
        slotstate_prefer(&st, slot);
        st.slot[slot].trial = trial_attempts > 0;
        st.slot[slot].attempts = (uint8_t)trial_attempts;
        r = boot_state_store(rot, &st, "install-activate", err);
        if (r < 0)
                return r;
        boot_event(rot, st.bootcount, "install slot=%c os=%s version=%s svn=%u trial=%u",
                   slot_letter(slot), meta.name, meta.version, meta.svn, trial_attempts);
        if (ret_meta)
                *ret_meta = meta;
        return 0;
}
