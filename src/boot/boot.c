/* boot.c - slot state storage, OS image verification and the event
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
        if (n > keep)
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
