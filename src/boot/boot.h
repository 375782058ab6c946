/* boot.h - the pieces of the boot stage shared by rampart-boot and the
 * factory tool (rampart-device): slot state storage, slot verification,
 * slot installation and the boot event log.
 *
 * Device directory layout (docs/device.md): fuses, counters (src/rot),
 * slotstate, events, deviceid.pem, device_ca.pem, slots/a.pkg, slots/b.pkg.
 * Every state change is crash-safe and passes a named RP_FAULT_POINT. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "boot/slotstate.h"
#include "crypto/crypto.h"
#include "image/image.h"
#include "lib/err.h"
#include "rot/rot.h"

#define BOOT_EXIT_REBOOT 64     /* normal world asks for a reboot */
#define BOOT_EXIT_RECOVERY 3    /* no bootable slot */
#define BOOT_EVENTS_MAX_LINES 64
#define BOOT_EVENT_LINE_MAX 240
#define BOOT_OS_COUNTER "os"    /* anti-rollback floor of the OS */

/* Loads the slot state; an absent record is all-empty (nothing bootable). */
int boot_state_load(struct rot *rot, struct slotstate *ret, struct rp_err *err) RP_WUR;
/* Stores it crash-safely after passing the fault point `fault`. */
int boot_state_store(struct rot *rot, const struct slotstate *s, const char *fault,
                     struct rp_err *err) RP_WUR;

/* Appends one line to the bounded event log (the oldest lines go first).
 * Failures to log never stop a boot: the result is informational. */
void boot_event(struct rot *rot, uint64_t bootcount, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Public keys from the platform-key fuses; returns the count. */
int boot_platform_keys(const struct rot_fuses *f, struct cr_key *keys[ROT_MAX_PLATFORM_KEYS],
                       struct rp_err *err) RP_WUR;
void boot_keys_free(struct cr_key *keys[ROT_MAX_PLATFORM_KEYS]);

/* "<dir>/slots/<letter>.pkg" (malloc'd). */
char *boot_slot_path(const char *dir, int slot);

/* Verifies an OS package read once from `fd`: a signature by a platform key,
 * type os, SVN at or above `floor`. Fills *ret (large: callers allocate it). */
int boot_verify_os(int fd, struct cr_key *const *keys, size_t n_keys, uint64_t floor,
                   struct img_verified *ret, struct img_meta *ret_meta,
                   struct rp_err *err) RP_WUR;

/* Factory/update install: verifies `pkg` like boot would, then marks the
 * slot unbootable, copies the package into it, and makes it the preferred
 * slot (trial with `trial_attempts` boots, or confirmed when 0). Each step
 * is crash-safe, so a power loss leaves the old state or a verified slot.
 * A refused package changes nothing. */
int boot_slot_install(struct rot *rot, const char *dir, int slot, const char *pkg,
                      unsigned trial_attempts, struct img_meta *ret_meta,
                      struct rp_err *err) RP_WUR;
/* The same from a descriptor (read from offset 0; the monitor gets it from
 * the normal world). What lands in the slot is verified again before the
 * slot is activated, since the sender may still write the source. */
int boot_slot_install_fd(struct rot *rot, const char *dir, int slot, int fd,
                         unsigned trial_attempts, struct img_meta *ret_meta,
                         struct rp_err *err) RP_WUR;
