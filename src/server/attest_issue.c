/* attest_issue.c - device certificates for verified attestations, and the
 * RFC 7030 "certs-only" PKCS#7 container the EST routes answer with.
 *
 * The certificate binds the CSR's key (already proven and bound to the
 * evidence by the verifier) to CN=<ueid>, O=<tenant id> and the SAN URI
 * urn:ueid:<ueid>, clientAuth only. It is recorded with the device's new
 * attestation state in one transaction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "server/attest.h"
#include "server/srv_int.h"
#include "server/tenant_ca.h"
#include "store/ca.h"

/* Unsealed tenant CAs, by CA id: unsealing and decoding the key for every
 * certificate would cost as much as the signature. An id names one
 * immutable key pair (rotation makes a new id), so an entry never goes
 * stale; the cache holds a few tenants' current CAs. */
#define CA_CACHE 16
static struct {
        char id[STORE_ID_MAX];
        struct cr_cert *cert;
        struct cr_key *key;
} ca_cache[CA_CACHE];
static unsigned ca_cache_next;

/* Borrowed results: valid until the next call. */
static int ca_load_cached(struct srv *s, const struct store_ca *ca, struct cr_cert **ret_cert,
                          struct cr_key **ret_key, struct rp_err *err)
{
        for (size_t i = 0; i < CA_CACHE; i++)
                if (ca_cache[i].cert && !strcmp(ca_cache[i].id, ca->id)) {
                        *ret_cert = ca_cache[i].cert;
                        *ret_key = ca_cache[i].key;
                        return 0;
                }
        struct cr_cert *cert = NULL;
        struct cr_key *key = NULL;
        int r = srv_tenant_ca_load(s, ca, &cert, &key, err);
        if (r < 0)
                return r;
        unsigned i = ca_cache_next++ % CA_CACHE;
        cr_cert_free(ca_cache[i].cert);
        cr_key_free(ca_cache[i].key);
        snprintf(ca_cache[i].id, sizeof(ca_cache[i].id), "%s", ca->id);
        ca_cache[i].cert = cert;
        ca_cache[i].key = key;
        *ret_cert = cert;
        *ret_key = key;
        return 0;
}

int srv_attest_issue(struct srv *s, const struct srv_attest_request *q,
                     const struct srv_attest_result *res, const struct srv_issue_opts *o,
                     struct cr_cert **ret_cert, struct rp_err *err)
{
        struct store *st = s->store;
        struct cr_cert *ca_cert = NULL;         /* borrowed from the cache */
        struct cr_key *ca_key = NULL;
        _cleanup_(cr_cert_freep) struct cr_cert *cert = NULL;
        _cleanup_free_ char *serial = NULL;
        _cleanup_free_ struct store_ca *ca = malloc(sizeof(*ca));
        char san[80];
        if (!ca)
                return rp_err_set(err, -ENOMEM, "out of memory");
        int r = store_ca_get_by_state(st, q->tenant_id, "current", ca, err);
        if (r < 0)
                return rp_err_prefix(err, "tenant '%s' CA", q->tenant_id);
        r = ca_load_cached(s, ca, &ca_cert, &ca_key, err);
        if (r < 0)
                return r;
        time_t now = (time_t)(q->now_ms / 1000);
        time_t back = (time_t)o->backdate_hours * 3600;
        snprintf(san, sizeof(san), "urn:ueid:%s", res->ueid);
        struct cr_cert_spec spec = {
                .cn = res->ueid,
                .o = q->tenant_id,
                .not_before = now - 300 - back,
                .not_after = now + (time_t)o->cert_hours * 3600 - back,
                .key_usage = CR_KU_DIGITAL_SIGNATURE,
                .ext_key_usage = CR_EKU_CLIENT_AUTH,
                .san_uri = san,
        };
        r = cr_cert_issue(ca_cert, ca_key, res->csr_pub, &spec, &cert, err);
        if (r < 0)
                return rp_err_prefix(err, "issuing the device certificate");
        if (cr_cert_serial_hex(cert, &serial) < 0)
                return rp_err_set(err, -EIO, "cannot read the new certificate's serial");
        for (char *p = serial; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        *p = (char)(*p - 'A' + 'a');

        struct store_device_attest a = {.last_svn = res->ev.svn, .updated_ms = q->now_ms};
        struct store_device_cert c = {
                .not_before_ms = (int64_t)spec.not_before * 1000,
                .not_after_ms = (int64_t)spec.not_after * 1000,
                .issued_ms = q->now_ms,
        };
        snprintf(a.ueid, sizeof(a.ueid), "%s", res->ueid);
        snprintf(a.os_name, sizeof(a.os_name), "%s", res->ev.swname);
        snprintf(a.os_version, sizeof(a.os_version), "%s", res->ev.swversion);
        if (strlen(serial) >= sizeof(c.serial))
                return rp_err_set(err, -EIO, "certificate serial too long");
        snprintf(c.serial, sizeof(c.serial), "%s", serial);
        snprintf(c.ueid, sizeof(c.ueid), "%s", res->ueid);
        snprintf(c.tenant_id, sizeof(c.tenant_id), "%s", q->tenant_id);
        snprintf(c.purpose, sizeof(c.purpose), "%s", q->purpose);

        r = store_attest_success(st, &a, &c, err);
        if (r < 0)
                return r;
        *ret_cert = cert;
        cert = NULL;
        return 0;
}

/* ---- PKCS#7 certs-only ---- */
static size_t der_len_size(size_t n)
{
        size_t k = 1;
        if (n >= 0x80)
                for (size_t v = n; v; v >>= 8)
                        k++;
        return k;
}

static uint8_t *der_put_hdr(uint8_t *p, uint8_t tag, size_t n)
{
        *p++ = tag;
        if (n < 0x80) {
                *p++ = (uint8_t)n;
                return p;
        }
        size_t k = der_len_size(n) - 1;
        *p++ = (uint8_t)(0x80 | k);
        for (size_t i = k; i > 0; i--)
                *p++ = (uint8_t)(n >> (8 * (i - 1)));
        return p;
}

int srv_pkcs7_certs_only(struct cr_cert *const *certs, size_t n, uint8_t **ret, size_t *ret_len,
                         struct rp_err *err)
{
        static const uint8_t oid_signed[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                             0x0d, 0x01, 0x07, 0x02};
        static const uint8_t oid_data_seq[] = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48,
                                               0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
        static const uint8_t version[] = {0x02, 0x01, 0x01};
        static const uint8_t empty_set[] = {0x31, 0x00};
        uint8_t *der[8] = {0};
        size_t dl[8] = {0}, certs_len = 0;
        int r = 0;
        if (n > 8)
                return rp_err_set(err, -E2BIG, "at most 8 certificates in one PKCS#7");
        for (size_t i = 0; i < n; i++) {
                if (cr_cert_to_der(certs[i], &der[i], &dl[i]) < 0) {
                        r = rp_err_set(err, -EIO, "cannot encode certificate %zu", i);
                        goto out;
                }
                certs_len += dl[i];
        }
        size_t certs_tlv = 1 + der_len_size(certs_len) + certs_len;
        size_t sd_len = sizeof(version) + sizeof(empty_set) + sizeof(oid_data_seq) + certs_tlv +
                        sizeof(empty_set);
        size_t sd_tlv = 1 + der_len_size(sd_len) + sd_len;
        size_t expl_tlv = 1 + der_len_size(sd_tlv) + sd_tlv;
        size_t ci_len = sizeof(oid_signed) + expl_tlv;
        size_t total = 1 + der_len_size(ci_len) + ci_len;
        uint8_t *buf = malloc(total), *p = buf;
        if (!buf) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        p = der_put_hdr(p, 0x30, ci_len);
        memcpy(p, oid_signed, sizeof(oid_signed));
        p += sizeof(oid_signed);
        p = der_put_hdr(p, 0xa0, sd_tlv);
        p = der_put_hdr(p, 0x30, sd_len);
        memcpy(p, version, sizeof(version));
        p += sizeof(version);
        memcpy(p, empty_set, sizeof(empty_set));
        p += sizeof(empty_set);
        memcpy(p, oid_data_seq, sizeof(oid_data_seq));
        p += sizeof(oid_data_seq);
        p = der_put_hdr(p, 0xa0, certs_len);
        for (size_t i = 0; i < n; i++) {
                memcpy(p, der[i], dl[i]);
                p += dl[i];
        }
        memcpy(p, empty_set, sizeof(empty_set));
        p += sizeof(empty_set);
        *ret = buf;
        *ret_len = (size_t)(p - buf);
out:
        for (size_t i = 0; i < n; i++)
                free(der[i]);
        return r;
}
