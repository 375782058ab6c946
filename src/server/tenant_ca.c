/* tenant_ca.c - tenant CA creation and key loading (see tenant_ca.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "server/srv_int.h"
#include "server/tenant_ca.h"

static void ca_aad(char *buf, size_t n, const char *tenant_id, const char *ca_id)
{
        snprintf(buf, n, "tenant-ca:%s:%s", tenant_id, ca_id);
}

int srv_tenant_ca_create(struct srv *s, const char *tenant_id, int generation, const char *state,
                         struct store_ca *ret, struct rp_err *err)
{
        _cleanup_(cr_key_freep) struct cr_key *key = NULL;
        _cleanup_(cr_cert_freep) struct cr_cert *cert = NULL;
        _cleanup_free_ char *cert_pem = NULL;
        char *key_pem = NULL;
        _cleanup_free_ uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        char id[SRV_ID_BUF], cn[64], aad[160];
        int r;

        struct store_ca *ca = calloc(1, sizeof(*ca));
        if (!ca)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (srv_new_id("ca", id) < 0) {
                free(ca);
                return rp_err_set(err, -EIO, "no randomness for an id");
        }
        int64_t now = srv_now_ms();
        snprintf(cn, sizeof(cn), "Rampart tenant CA %d", generation);
        struct cr_cert_spec spec = {
                .cn = cn,
                .o = tenant_id,
                .not_after = (time_t)(now / 1000) + (time_t)SRV_CA_VALIDITY_DAYS * 86400,
                .ca = true,
                .path_len = 0,
                .key_usage = CR_KU_KEY_CERT_SIGN | CR_KU_CRL_SIGN | CR_KU_DIGITAL_SIGNATURE,
        };
        if ((r = cr_key_generate(&key, err)) < 0 ||
            (r = cr_cert_self_signed(key, &spec, &cert, err)) < 0 ||
            (r = cr_cert_to_pem(cert, &cert_pem, err)) < 0 ||
            (r = cr_key_to_pem(key, true, &key_pem, err)) < 0)
                goto out;
        if (strlen(cert_pem) >= sizeof(ca->cert_pem)) {
                r = rp_err_set(err, -EOVERFLOW, "CA certificate PEM too large");
                goto out;
        }
        ca_aad(aad, sizeof(aad), tenant_id, id);
        r = srv_keystore_seal(&s->keys, aad, key_pem, strlen(key_pem), &sealed, &sealed_len, err);
        if (r < 0)
                goto out;
        if (sealed_len > sizeof(ca->key_sealed)) {
                r = rp_err_set(err, -EOVERFLOW, "sealed CA key too large (%zu bytes)", sealed_len);
                goto out;
        }
        time_t nb = 0, na = 0;
        if ((r = cr_cert_validity(cert, &nb, &na)) < 0) {
                rp_err_set(err, r, "reading CA validity");
                goto out;
        }
        snprintf(ca->id, sizeof(ca->id), "%s", id);
        snprintf(ca->tenant_id, sizeof(ca->tenant_id), "%s", tenant_id);
        snprintf(ca->state, sizeof(ca->state), "%s", state);
        ca->generation = generation;
        memcpy(ca->cert_pem, cert_pem, strlen(cert_pem) + 1);
        memcpy(ca->key_sealed, sealed, sealed_len);
        ca->key_sealed_len = sealed_len;
        ca->not_before_ms = (int64_t)nb * 1000;
        ca->not_after_ms = (int64_t)na * 1000;
        ca->created_ms = now;
        r = store_ca_create(s->store, ca, err);
        if (r == 0 && ret)
                *ret = *ca;
out:
        if (key_pem) {
                cr_wipe(key_pem, strlen(key_pem));
                free(key_pem);
        }
        free(ca);
        return r;
}

int srv_tenant_ca_load(struct srv *s, const struct store_ca *ca, struct cr_cert **ret_cert,
                       struct cr_key **ret_key, struct rp_err *err)
{
        char aad[160];
        uint8_t *pem = NULL;
        size_t len = 0;
        ca_aad(aad, sizeof(aad), ca->tenant_id, ca->id);
        int r = srv_keystore_open_sealed(&s->keys, aad, ca->key_sealed, ca->key_sealed_len, &pem,
                                         &len, err);
        if (r < 0)
                return rp_err_prefix(err, "CA %s key", ca->id);
        struct cr_key *key = NULL;
        struct cr_cert *cert = NULL;
        r = cr_key_from_pem(pem, len, &key, err);
        cr_wipe(pem, len);
        free(pem);
        if (r < 0)
                return r;
        r = cr_cert_from_pem(ca->cert_pem, strlen(ca->cert_pem), &cert, err);
        if (r < 0) {
                cr_key_free(key);
                return r;
        }
        *ret_cert = cert;
        *ret_key = key;
        return 0;
}
