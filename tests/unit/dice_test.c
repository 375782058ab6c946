/* dice_test.c - DICE derivation golden vectors, what changes the Alias key
 * (and what must not change the DeviceID), the extension DER (hand-checked
 * bytes, round trips, hostile inputs) and the certificate chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dice/dice.h"
#include "lib/encode.h"

static void fixed_uds(struct rp_secret32 *uds)
{
        for (int i = 0; i < 32; i++)
                uds->b[i] = (uint8_t)i;
}

static void fixed_inputs(struct dice_inputs *in)
{
        static const char image[] = "Rampart golden OS image v1";
        memset(in, 0, sizeof(*in));
        cr_sha256(image, sizeof(image) - 1, in->code_hash);
        in->svn = 3;
        in->locked = true;
}

static void pub_hex(const struct cr_key *k, char out[2 * CR_P256_PUB_LEN + 1])
{
        uint8_t raw[CR_P256_PUB_LEN];
        assert_int_equal(cr_key_pub_raw(k, raw), 0);
        rp_hex_encode(raw, sizeof(raw), out);
}

/* Looks up "name value" in tests/data/dice/vectors.txt. */
static void golden(const char *name, char *out, size_t cap)
{
        char path[512], line[512];
        const char *dir = getenv("RP_TEST_DATA");
        FILE *f;

        snprintf(path, sizeof(path), "%s/dice/vectors.txt", dir ? dir : "tests/data");
        f = fopen(path, "r");
        assert_non_null(f);
        out[0] = 0;
        while (fgets(line, sizeof(line), f)) {
                size_t n = strlen(name);
                if (!strncmp(line, name, n) && line[n] == ' ') {
                        snprintf(out, cap, "%s", line + n + 1);
                        out[strcspn(out, "\r\n")] = 0;
                }
        }
        fclose(f);
        assert_true(out[0] != 0);
}

static void test_golden_vectors(void **state)
{
        struct rp_secret32 uds;
        struct dice_inputs in;
        struct cr_key *dev = NULL, *alias = NULL;
        uint8_t dev_id[DICE_ID_LEN], alias_id[DICE_ID_LEN];
        char hex[2 * CR_P256_PUB_LEN + 1], ueid[DICE_UEID_HEX_LEN + 1], want[512];
        struct rp_err err = {0};
        const bool print = getenv("RP_DICE_PRINT") != NULL;

        fixed_uds(&uds);
        fixed_inputs(&in);
        assert_int_equal(dice_deviceid_derive(&uds, &dev, dev_id, &err), 0);
        assert_int_equal(dice_alias_derive(&uds, &in, &alias, alias_id, &err), 0);
        pub_hex(dev, hex);
        dice_id_hex(dev_id, ueid);
        if (print) {
                printf("deviceid_pub %s\nueid %s\n", hex, ueid);
        } else {
                golden("deviceid_pub", want, sizeof(want));
                assert_string_equal(hex, want);
                golden("ueid", want, sizeof(want));
                assert_string_equal(ueid, want);
        }
        pub_hex(alias, hex);
        dice_id_hex(alias_id, ueid);
        if (print) {
                printf("alias_pub %s\nalias_id %s\n", hex, ueid);
        } else {
                golden("alias_pub", want, sizeof(want));
                assert_string_equal(hex, want);
                golden("alias_id", want, sizeof(want));
                assert_string_equal(ueid, want);
        }
        cr_key_free(alias);
        cr_key_free(dev);
}

static void test_alias_tracks_inputs(void **state)
{
        struct rp_secret32 uds;
        struct dice_inputs in, in2;
        struct cr_key *a0 = NULL, *a1 = NULL, *d0 = NULL, *d1 = NULL;
        uint8_t id0[DICE_ID_LEN], id1[DICE_ID_LEN];
        struct rp_err err = {0};

        fixed_uds(&uds);
        fixed_inputs(&in);
        assert_int_equal(dice_alias_derive(&uds, &in, &a0, id0, &err), 0);
        /* same inputs: same key */
        assert_int_equal(dice_alias_derive(&uds, &in, &a1, id1, &err), 0);
        assert_true(cr_key_pub_equal(a0, a1));
        cr_key_free(a1);
        /* each measured input changes the Alias key */
        for (int which = 0; which < 4; which++) {
                in2 = in;
                if (which == 0)
                        in2.code_hash[31] ^= 1;
                if (which == 1)
                        in2.svn++;
                if (which == 2)
                        in2.debug = true;
                if (which == 3)
                        in2.locked = false;
                assert_int_equal(dice_alias_derive(&uds, &in2, &a1, id1, &err), 0);
                assert_false(cr_key_pub_equal(a0, a1));
                assert_memory_not_equal(id0, id1, DICE_ID_LEN);
                cr_key_free(a1);
        }
        /* the DeviceID depends on the UDS only */
        assert_int_equal(dice_deviceid_derive(&uds, &d0, id0, &err), 0);
        assert_int_equal(dice_deviceid_derive(&uds, &d1, id1, &err), 0);
        assert_true(cr_key_pub_equal(d0, d1));
        assert_false(cr_key_pub_equal(d0, a0));
        cr_key_free(d1);
        uds.b[0] ^= 0x80;
        assert_int_equal(dice_deviceid_derive(&uds, &d1, id1, &err), 0);
        assert_false(cr_key_pub_equal(d0, d1));
        cr_key_free(d1);
        cr_key_free(d0);
        cr_key_free(a0);
}

static void sample_tcb(struct dice_tcb_info *t)
{
        memset(t, 0, sizeof(*t));
        strcpy(t->version, "1.2.3");
        t->svn = 3;
        t->layer = 1;
        memset(t->fwid, 0xab, sizeof(t->fwid));
        t->flags = DICE_FLAG_DEBUG;
}

static void test_tcb_info_der(void **state)
{
        static const uint8_t head[] = {
                0x30, 0x42, 0x82, 0x05, '1', '.', '2', '.', '3', 0x83, 0x01, 0x03, 0x84, 0x01,
                0x01, 0xa6, 0x2f, 0x30, 0x2d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                0x04, 0x02, 0x01, 0x04, 0x20};
        static const uint8_t tail[] = {0x87, 0x02, 0x04, 0x10};
        struct dice_tcb_info t, got;
        uint8_t der[DICE_MAX_EXT_DER];
        size_t n;
        struct rp_err err = {0};

        sample_tcb(&t);
        assert_int_equal(dice_tcb_info_encode(&t, der, sizeof(der), &n), 0);
        assert_int_equal(n, 0x44);
        assert_memory_equal(der, head, sizeof(head));
        assert_memory_equal(der + n - 4, tail, sizeof(tail));
        assert_int_equal(dice_tcb_info_parse(der, n, &got, &err), 0);
        assert_string_equal(got.version, "1.2.3");
        assert_int_equal(got.svn, 3);
        assert_int_equal(got.layer, 1);
        assert_int_equal(got.flags, DICE_FLAG_DEBUG);
        assert_memory_equal(got.fwid, t.fwid, 32);
        assert_int_equal(dice_tcb_info_encode(&t, der, 20, &n), -ENOSPC);

        /* big values and every flag round trip */
        t.svn = UINT64_MAX;
        t.layer = 0x80;
        t.flags = DICE_FLAGS_KNOWN;
        strcpy(t.vendor, "rampart");
        assert_int_equal(dice_tcb_info_encode(&t, der, sizeof(der), &n), 0);
        assert_int_equal(dice_tcb_info_parse(der, n, &got, &err), 0);
        assert_true(got.svn == UINT64_MAX);
        assert_int_equal(got.layer, 0x80);
        assert_int_equal(got.flags, DICE_FLAGS_KNOWN);
        assert_string_equal(got.vendor, "rampart");
        t.flags = 0;
        assert_int_equal(dice_tcb_info_encode(&t, der, sizeof(der), &n), 0);
        assert_int_equal(dice_tcb_info_parse(der, n, &got, &err), 0);
        assert_int_equal(got.flags, 0);
}

static void test_tcb_info_hostile(void **state)
{
        struct dice_tcb_info t, got;
        uint8_t der[DICE_MAX_EXT_DER], bad[DICE_MAX_EXT_DER + 8];
        size_t n;
        struct rp_err err = {0};

        sample_tcb(&t);
        assert_int_equal(dice_tcb_info_encode(&t, der, sizeof(der), &n), 0);
        /* every truncation */
        for (size_t i = 0; i < n; i++)
                assert_int_not_equal(dice_tcb_info_parse(der, i, &got, &err), 0);
        /* trailing byte */
        memcpy(bad, der, n);
        bad[n] = 0;
        assert_int_equal(dice_tcb_info_parse(bad, n + 1, &got, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "trailing"));
        /* non-canonical long length for a short element */
        memcpy(bad + 3, der + 2, n - 2);
        bad[0] = 0x30;
        bad[1] = 0x81;
        bad[2] = der[1];
        assert_int_equal(dice_tcb_info_parse(bad, n + 1, &got, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "non-canonical"));
        /* unknown flag bit (bit 4: 0x08 with 3 unused bits) */
        memcpy(bad, der, n);
        bad[n - 2] = 0x03;
        bad[n - 1] = 0x08;
        assert_int_equal(dice_tcb_info_parse(bad, n, &got, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "unknown bits"));
        /* non-canonical bit string (unused bits count wrong) */
        bad[n - 2] = 0x03;
        bad[n - 1] = 0x10;
        assert_int_equal(dice_tcb_info_parse(bad, n, &got, &err), -EBADMSG);
        /* wrong hash algorithm OID (SHA-384 = ...02.02) */
        memcpy(bad, der, n);
        bad[29] = 0x02;
        assert_int_equal(dice_tcb_info_parse(bad, n, &got, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "SHA-256"));
        /* fields out of order: swap svn [3] and layer [4] tags */
        memcpy(bad, der, n);
        bad[9] = 0x84;
        bad[12] = 0x83;
        assert_int_equal(dice_tcb_info_parse(bad, n, &got, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "out of order"));
        /* negative svn */
        memcpy(bad, der, n);
        bad[11] = 0x83;
        assert_int_equal(dice_tcb_info_parse(bad, n, &got, &err), -EBADMSG);
        /* no fwids */
        static const uint8_t nofw[] = {0x30, 0x03, 0x83, 0x01, 0x01};
        assert_int_equal(dice_tcb_info_parse(nofw, sizeof(nofw), &got, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "no fwids"));
        /* indefinite length */
        static const uint8_t indef[] = {0x30, 0x80, 0x00, 0x00};
        assert_int_equal(dice_tcb_info_parse(indef, sizeof(indef), &got, &err), -EBADMSG);
}

static void test_ueid_der(void **state)
{
        uint8_t id[DICE_ID_LEN], got[DICE_ID_LEN], der[64];
        size_t n;
        struct rp_err err = {0};

        for (int i = 0; i < DICE_ID_LEN; i++)
                id[i] = (uint8_t)(0xf0 + i);
        assert_int_equal(dice_ueid_encode(id, der, sizeof(der), &n), 0);
        assert_int_equal(n, 24);
        assert_int_equal(der[0], 0x30);
        assert_int_equal(der[1], 22);
        assert_int_equal(der[2], 0x04);
        assert_int_equal(der[3], 20);
        assert_int_equal(dice_ueid_parse(der, n, got, &err), 0);
        assert_memory_equal(got, id, DICE_ID_LEN);
        for (size_t i = 0; i < n; i++)
                assert_int_not_equal(dice_ueid_parse(der, i, got, &err), 0);
        der[1] = 21;
        der[3] = 19;
        assert_int_equal(dice_ueid_parse(der, n - 1, got, &err), -EBADMSG);
}

static void test_cert_chain(void **state)
{
        struct rp_secret32 uds;
        struct dice_inputs in;
        struct cr_key *ca_key = NULL, *dev = NULL, *alias = NULL, *other = NULL;
        struct cr_cert *ca = NULL, *devc = NULL, *aliasc = NULL;
        uint8_t dev_id[DICE_ID_LEN], alias_id[DICE_ID_LEN], got_id[DICE_ID_LEN], *der;
        size_t der_len;
        struct dice_tcb_info t, got;
        struct rp_err err = {0};
        char *cn = NULL, ueid[DICE_UEID_HEX_LEN + 1];

        fixed_uds(&uds);
        fixed_inputs(&in);
        assert_int_equal(cr_key_generate(&ca_key, &err), 0);
        struct cr_cert_spec cs = {.cn = "Test Device CA", .not_after = time(NULL) + 86400,
                                  .ca = true, .path_len = 1,
                                  .key_usage = CR_KU_KEY_CERT_SIGN | CR_KU_CRL_SIGN};
        assert_int_equal(cr_cert_self_signed(ca_key, &cs, &ca, &err), 0);
        assert_int_equal(dice_deviceid_derive(&uds, &dev, dev_id, &err), 0);
        assert_int_equal(dice_deviceid_cert_issue(ca, ca_key, dev, dev_id, &devc, &err), 0);
        assert_int_equal(dice_alias_derive(&uds, &in, &alias, alias_id, &err), 0);
        memset(&t, 0, sizeof(t));
        strcpy(t.version, "1.0.0");
        t.svn = in.svn;
        t.layer = 1;
        memcpy(t.fwid, in.code_hash, 32);
        assert_int_equal(dice_alias_cert_issue(devc, dev, alias, alias_id, dev_id, &t, &aliasc,
                                               &err), 0);
        struct cr_cert *untrusted[] = {devc}, *trusted[] = {ca};
        assert_int_equal(cr_chain_verify(aliasc, untrusted, 1, trusted, 1, 0, &err), 0);
        /* the subject of the DeviceID certificate is the UEID */
        assert_int_equal(cr_cert_subject_cn(devc, &cn), 0);
        dice_id_hex(dev_id, ueid);
        assert_string_equal(cn, ueid);
        free(cn);
        /* extensions read back */
        assert_int_equal(cr_cert_ext(aliasc, DICE_OID_TCB_INFO, &der, &der_len), 0);
        assert_int_equal(dice_tcb_info_parse(der, der_len, &got, &err), 0);
        free(der);
        assert_memory_equal(got.fwid, in.code_hash, 32);
        assert_string_equal(got.version, "1.0.0");
        assert_int_equal(cr_cert_ext(aliasc, DICE_OID_UEID, &der, &der_len), 0);
        assert_int_equal(dice_ueid_parse(der, der_len, got_id, &err), 0);
        free(der);
        assert_memory_equal(got_id, dev_id, DICE_ID_LEN);
        /* an Alias certificate from another device's DeviceID does not chain
         * through this device's DeviceID certificate */
        {
                struct cr_key *odev = NULL;
                struct cr_cert *odevc = NULL;
                uint8_t oid[DICE_ID_LEN];
                uds.b[5] ^= 0x55;
                assert_int_equal(dice_deviceid_derive(&uds, &odev, oid, &err), 0);
                assert_int_equal(dice_deviceid_cert_issue(ca, ca_key, odev, oid, &odevc, &err), 0);
                cr_cert_free(aliasc);
                aliasc = NULL;
                assert_int_equal(dice_alias_cert_issue(odevc, odev, alias, alias_id, oid, &t,
                                                       &aliasc, &err), 0);
                assert_int_not_equal(cr_chain_verify(aliasc, untrusted, 1, trusted, 1, 0, &err), 0);
                struct cr_cert *ountrusted[] = {odevc};
                assert_int_equal(cr_chain_verify(aliasc, ountrusted, 1, trusted, 1, 0, &err), 0);
                cr_cert_free(odevc);
                cr_key_free(odev);
                other = NULL;
        }
        cr_cert_free(aliasc);
        cr_cert_free(devc);
        cr_cert_free(ca);
        cr_key_free(other);
        cr_key_free(alias);
        cr_key_free(dev);
        cr_key_free(ca_key);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_vectors),
                cmocka_unit_test(test_alias_tracks_inputs),
                cmocka_unit_test(test_tcb_info_der),
                cmocka_unit_test(test_tcb_info_hostile),
                cmocka_unit_test(test_ueid_der),
                cmocka_unit_test(test_cert_chain),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
