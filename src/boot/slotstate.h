/* slotstate.h - the A/B slot state record and the slot choice (pure).
 *
 * Layout (64 bytes, big-endian), stored as the NV blob "slotstate":
 *   0 "RPSLOT1\0"  8 bootcount u64  16 slot a: priority u8, attempts u8,
 *   flags u8, 0   20 slot b: same   24 reserved[8] = 0   32 SHA-256 of 0..32
 * priority 0 = not bootable; 1..15 higher boots first (tie: a). A slot with
 * flag TRIAL boots only while attempts > 0; each boot of it takes one. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

#define SLOT_COUNT 2
#define SLOTSTATE_LEN 64
#define SLOT_MAX_PRIORITY 15
#define SLOT_MAX_ATTEMPTS 15
#define SLOT_F_TRIAL 0x01

struct slot_info {
        uint8_t priority;
        uint8_t attempts;
        bool trial;
};

struct slotstate {
        uint64_t bootcount;
        struct slot_info slot[SLOT_COUNT];
};

static inline char slot_letter(int i) { return (char)('a' + i); }
/* 0 for "a", 1 for "b", -EINVAL otherwise. */
int slot_index(const char *s);

void slotstate_encode(const struct slotstate *s, uint8_t out[SLOTSTATE_LEN]);
/* Strict: exact length, magic, checksum, value ranges, zero reserved bytes,
 * known flags only, a confirmed slot has attempts 0. */
int slotstate_parse(const uint8_t *buf, size_t len, struct slotstate *ret,
                    struct rp_err *err) RP_WUR;
/* Bootable slots, best first; returns how many (0..2). */
int slotstate_order(const struct slotstate *s, int order[SLOT_COUNT]);
/* A slot whose trial ran out of attempts (priority > 0, trial, attempts 0). */
bool slotstate_trial_expired(const struct slotstate *s, int slot);
/* Makes `slot` the preferred one (highest priority), keeping the other
 * slot bootable below it. */
void slotstate_prefer(struct slotstate *s, int slot);
