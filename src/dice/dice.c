/* dice.c - DICE derivations and the DICE certificates (see dice.h). */
#include "dice/dice.h"

#include <stdio.h>
#include <string.h>

#include "lib/encode.h"

static const uint8_t id_salt[] = "Rampart DICE ID salt v1";
#define ID_SALT_LEN (sizeof(id_salt) - 1)
#define NOT_AFTER_FOREVER ((time_t)253402300799) /* 9999-12-31T23:59:59Z */

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

void dice_measure(const struct dice_inputs *in, uint8_t out[DICE_MEASUREMENT_LEN])
{
        /* "RPDICE1" || code_hash || svn be32 || mode: fixed layout, no ambiguity */
        uint8_t buf[8 + CR_SHA256_LEN + 4 + 1];

        memcpy(buf, "RPDICE1", 8);
        memcpy(buf + 8, in->code_hash, CR_SHA256_LEN);
        put_be32(buf + 8 + CR_SHA256_LEN, in->svn);
        buf[sizeof(buf) - 1] = (uint8_t)((in->debug ? 1 : 0) | (in->locked ? 2 : 0));
        cr_sha512(buf, sizeof(buf), out);
}

int dice_cdi_derive(const uint8_t *prev, size_t prev_len,
                    const uint8_t measurement[DICE_MEASUREMENT_LEN], const char *label,
                    struct rp_secret64 *ret)
{
        return cr_hkdf_sha512(measurement, DICE_MEASUREMENT_LEN, prev, prev_len,
                              (const uint8_t *)label, strlen(label), ret->b, sizeof(ret->b));
}

int dice_key_derive(const uint8_t *secret, size_t len, struct cr_key **ret, struct rp_err *err)
{
        struct rp_secret32 seed;
        static const char info[] = "Key Pair";
        int r = cr_hkdf_sha512(id_salt, ID_SALT_LEN, secret, len, (const uint8_t *)info,
                               sizeof(info) - 1, seed.b, sizeof(seed.b));
        if (r < 0)
                r = rp_err_set(err, r, "DICE key seed derivation failed");
        else
                r = cr_key_from_seed(seed.b, ret, err);
        rp_secret32_wipe(&seed);
        return r;
}

int dice_id_derive(const struct cr_key *k, uint8_t out[DICE_ID_LEN])
{
        uint8_t pub[CR_P256_PUB_LEN];
        static const char info[] = "ID";
        int r = cr_key_pub_raw(k, pub);
        if (r < 0)
                return r;
        return cr_hkdf_sha512(id_salt, ID_SALT_LEN, pub, sizeof(pub), (const uint8_t *)info,
                              sizeof(info) - 1, out, DICE_ID_LEN);
}

void dice_id_hex(const uint8_t id[DICE_ID_LEN], char out[DICE_UEID_HEX_LEN + 1])
{
        rp_hex_encode(id, DICE_ID_LEN, out);
}

static int key_and_id(const uint8_t *secret, size_t len, struct cr_key **ret_key,
                      uint8_t ret_id[DICE_ID_LEN], struct rp_err *err)
{
        struct cr_key *k = NULL;
        int r = dice_key_derive(secret, len, &k, err);
        if (r < 0)
                return r;
        r = dice_id_derive(k, ret_id);
        if (r < 0) {
                cr_key_free(k);
                return rp_err_set(err, r, "DICE identifier derivation failed");
        }
        *ret_key = k;
        return 0;
}

int dice_deviceid_derive(const struct rp_secret32 *uds, struct cr_key **ret_key,
                         uint8_t ret_id[DICE_ID_LEN], struct rp_err *err)
{
        return key_and_id(uds->b, sizeof(uds->b), ret_key, ret_id, err);
}

int dice_alias_derive(const struct rp_secret32 *uds, const struct dice_inputs *in,
                      struct cr_key **ret_key, uint8_t ret_id[DICE_ID_LEN], struct rp_err *err)
{
        uint8_t m[DICE_MEASUREMENT_LEN];
        struct rp_secret64 cdi;
        int r;

        dice_measure(in, m);
        r = dice_cdi_derive(uds->b, sizeof(uds->b), m, "CDI_Attest", &cdi);
        if (r < 0)
                r = rp_err_set(err, r, "CDI derivation failed");
        else
                r = key_and_id(cdi.b, sizeof(cdi.b), ret_key, ret_id, err);
        rp_secret64_wipe(&cdi);
        return r;
}

int dice_alias_cert_issue(const struct cr_cert *deviceid_cert, const struct cr_key *deviceid_key,
                          const struct cr_key *alias, const uint8_t alias_id[DICE_ID_LEN],
                          const uint8_t ueid[DICE_ID_LEN], const struct dice_tcb_info *tcb,
                          struct cr_cert **ret, struct rp_err *err)
{
        char cn[DICE_UEID_HEX_LEN + 1], serial[DICE_UEID_HEX_LEN + 1];
        uint8_t tcb_der[DICE_MAX_EXT_DER], ueid_der[64], sid[DICE_ID_LEN];
        size_t tcb_len, ueid_len;
        int r;

        r = dice_tcb_info_encode(tcb, tcb_der, sizeof(tcb_der), &tcb_len);
        if (r == 0)
                r = dice_ueid_encode(ueid, ueid_der, sizeof(ueid_der), &ueid_len);
        if (r < 0)
                return rp_err_set(err, r, "cannot encode the DICE extensions");
        dice_id_hex(alias_id, cn);
        /* A positive serial that never starts with a zero byte. */
        memcpy(sid, alias_id, DICE_ID_LEN);
        sid[0] = (uint8_t)((sid[0] & 0x7f) | 0x40);
        dice_id_hex(sid, serial);
        struct cr_ext exts[2] = {
                {.oid = DICE_OID_TCB_INFO, .der = tcb_der, .der_len = tcb_len},
                {.oid = DICE_OID_UEID, .der = ueid_der, .der_len = ueid_len},
        };
        struct cr_cert_spec spec = {
                .cn = cn,
                .o = "Rampart Alias",
                .serial_hex = serial,
                .not_after = NOT_AFTER_FOREVER,
                .key_usage = CR_KU_DIGITAL_SIGNATURE,
                .exts = exts,
                .n_exts = 2,
        };
        return cr_cert_issue(deviceid_cert, deviceid_key, alias, &spec, ret, err);
}
