/* slotstate.c - see slotstate.h. */
#include "boot/slotstate.h"

#include <string.h>

#include "crypto/crypto.h"

#define MAGIC "RPSLOT1\0"

int slot_index(const char *s)
{
        if (s && s[0] >= 'a' && s[0] < 'a' + SLOT_COUNT && s[1] == 0)
                return s[0] - 'a';
        return -EINVAL;
}

void slotstate_encode(const struct slotstate *s, uint8_t out[SLOTSTATE_LEN])
{
        memset(out, 0, SLOTSTATE_LEN);
        memcpy(out, MAGIC, 8);
        for (int i = 0; i < 8; i++)
                out[8 + i] = (uint8_t)(s->bootcount >> (56 - 8 * i));
        for (int i = 0; i < SLOT_COUNT; i++) {
                out[16 + 4 * i] = s->slot[i].priority;
                out[17 + 4 * i] = s->slot[i].attempts;
                out[18 + 4 * i] = s->slot[i].trial ? SLOT_F_TRIAL : 0;
        }
        cr_sha256(out, 32, out + 32);
}

int slotstate_parse(const uint8_t *buf, size_t len, struct slotstate *ret, struct rp_err *err)
{
        struct slotstate s;
        uint8_t sum[CR_SHA256_LEN];

        if (len != SLOTSTATE_LEN)
                return rp_err_set(err, -EBADMSG, "slot state is %zu bytes, expected %d", len,
                                  SLOTSTATE_LEN);
        if (memcmp(buf, MAGIC, 8) != 0)
                return rp_err_set(err, -EBADMSG, "slot state has a wrong magic");
        cr_sha256(buf, 32, sum);
        if (!cr_memeq(sum, buf + 32, CR_SHA256_LEN))
                return rp_err_set(err, -EBADMSG, "slot state fails its checksum");
        s.bootcount = 0;
        for (int i = 0; i < 8; i++)
                s.bootcount = s.bootcount << 8 | buf[8 + i];
        for (int i = 0; i < SLOT_COUNT; i++) {
                const uint8_t *p = buf + 16 + 4 * i;
                if (p[0] > SLOT_MAX_PRIORITY || p[1] > SLOT_MAX_ATTEMPTS ||
                    (p[2] & ~SLOT_F_TRIAL) || p[3] || (!(p[2] & SLOT_F_TRIAL) && p[1]))
                        return rp_err_set(err, -EBADMSG, "slot state of slot %c is invalid "
                                          "(priority %u, attempts %u, flags 0x%02x)",
                                          slot_letter(i), p[0], p[1], p[2]);
                s.slot[i].priority = p[0];
                s.slot[i].attempts = p[1];
                s.slot[i].trial = p[2] & SLOT_F_TRIAL;
        }
        for (int i = 24; i < 32; i++)
                if (buf[i])
                        return rp_err_set(err, -EBADMSG, "slot state reserved byte %d is not zero",
                                          i);
        *ret = s;
        return 0;
}

static bool bootable(const struct slot_info *si)
{
        return si->priority > 0 && (!si->trial || si->attempts > 0);
}

int slotstate_order(const struct slotstate *s, int order[SLOT_COUNT])
{
        int n = 0;
        for (int i = 0; i < SLOT_COUNT; i++)
                if (bootable(&s->slot[i]))
                        order[n++] = i;
        if (n == 2 && s->slot[order[1]].priority > s->slot[order[0]].priority) {
                int t = order[0];
                order[0] = order[1];
                order[1] = t;
        }
        return n;
}

bool slotstate_trial_expired(const struct slotstate *s, int slot)
{
        const struct slot_info *si = &s->slot[slot];
        return si->priority > 0 && si->trial && si->attempts == 0;
}

void slotstate_prefer(struct slotstate *s, int slot)
{
        int other = 1 - slot;
        if (s->slot[other].priority >= SLOT_MAX_PRIORITY)
                s->slot[other].priority = SLOT_MAX_PRIORITY - 1;
        s->slot[slot].priority = s->slot[other].priority + 1;
        if (s->slot[slot].priority < 2 && s->slot[other].priority == 0)
                s->slot[slot].priority = 1;
}
