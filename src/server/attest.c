/* attest.c - the attestation verifier: the ordered checks of
 * docs/attestation.md over a parsed enroll request and the store. The
 * first failing check decides; every check is a function of values that
 * earlier checks already vouched for. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "server/attest.h"
#include "store/ca.h"
#include "store/images.h"
#include "store/nonces.h"
#include "store/registry.h"

void srv_attest_result_clear(struct srv_attest_result *res)
{
        cr_key_free(res->csr_pub);
        res->csr_pub = NULL;
}

__attribute__((format(printf, 3, 4)))
static int refuse(struct srv_attest_result *res, enum srv_attest_reason reason, const char *fmt,
                  ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
        va_end(ap);
        res->reason = reason;
        return 0;
}

static int internal(struct srv_attest_result *res, const struct rp_err *e)
{
        snprintf(res->msg, sizeof(res->msg), "%s", e->msg);
        res->reason = SRV_AT_INTERNAL;
        return e->code < 0 ? e->code : -EIO;
}

/* Step 1: the nonce, consumed atomically. */
static int check_nonce(struct store *st, const struct srv_attest_request *q, const char *nonce,
                       struct srv_attest_result *res)
{
        _cleanup_free_ uint8_t *raw = NULL;
        size_t n = 0;
        struct rp_err e = {0};
        if (rp_b64url_decode(nonce, strlen(nonce), &raw, &n) < 0 || n != SRV_ATTEST_NONCE_LEN)
                return refuse(res, SRV_AT_NONCE_UNKNOWN, "eat_nonce '%.60s' is not a nonce this "
                              "service issued", nonce);
        uint8_t h[CR_SHA256_LEN];
        cr_sha256(raw, n, h);
        enum store_nonce_result nr;
        int r = store_nonce_consume(st, h, q->tenant_id, q->now_ms, &nr, &e);
        if (r < 0)
                return internal(res, &e);
        switch (nr) {
        case STORE_NONCE_OK: return 0;
        case STORE_NONCE_UNKNOWN:
                return refuse(res, SRV_AT_NONCE_UNKNOWN, "nonce '%.16s...' was never issued",
                              nonce);
        case STORE_NONCE_WRONG_TENANT:
                return refuse(res, SRV_AT_NONCE_WRONG_TENANT, "nonce '%.16s...' was issued for "
                              "another tenant", nonce);
        case STORE_NONCE_EXPIRED:
                return refuse(res, SRV_AT_NONCE_EXPIRED, "nonce '%.16s...' has expired", nonce);
        case STORE_NONCE_USED:
                return refuse(res, SRV_AT_NONCE_USED, "nonce '%.16s...' was used before", nonce);
        }
        return refuse(res, SRV_AT_INTERNAL, "nonce check failed");
}

/* Parsed manufacturer roots, by manufacturer id. A manufacturer record is
 * never changed once imported, so an entry stays valid; the fingerprint is
 * compared anyway so a restored database can never meet a stale entry. */
#define ROOT_CACHE 32
static struct {
        char id[STORE_ID_MAX];
        char fingerprint[STORE_FPR_BUF];
        struct cr_cert *cert;
        struct cr_key *pub;
} root_cache[ROOT_CACHE];
static unsigned root_cache_next;

static int root_get(const struct store_manufacturer *m, struct cr_cert **ret_cert,
                    struct cr_key **ret_pub)
{
        for (size_t i = 0; i < ROOT_CACHE; i++)
                if (root_cache[i].cert && !strcmp(root_cache[i].id, m->id) &&
                    !strcmp(root_cache[i].fingerprint, m->fingerprint)) {
                        *ret_cert = root_cache[i].cert;
                        *ret_pub = root_cache[i].pub;
                        return 0;
                }
        struct cr_cert *cert = NULL;
        struct cr_key *pub = NULL;
        if (cr_cert_from_pem(m->cert_pem, strlen(m->cert_pem), &cert, NULL) < 0)
                return -EBADMSG;
        if (cr_cert_pubkey(cert, &pub) < 0) {
                cr_cert_free(cert);
                return -EBADMSG;
        }
        unsigned i = root_cache_next++ % ROOT_CACHE;
        cr_cert_free(root_cache[i].cert);
        cr_key_free(root_cache[i].pub);
        snprintf(root_cache[i].id, sizeof(root_cache[i].id), "%s", m->id);
        snprintf(root_cache[i].fingerprint, sizeof(root_cache[i].fingerprint), "%s",
                 m->fingerprint);
        root_cache[i].cert = cert;
        root_cache[i].pub = pub;
        *ret_cert = cert;
        *ret_pub = pub;
        return 0;
}

/* Device CAs found signed by a manufacturer root, as (SHA-256 of the device
 * CA's DER, the root's fingerprint): a signature over fixed bytes that
 * verified once verifies forever, and every device of a production line
 * sends the same device CA, so the pair is remembered instead of verified
 * again. The root is still looked up in the store on every request, and the
 * full chain (with its validity times) is still verified in step 4.
 * Successes only; a few entries, replaced round robin. */
#define SIGNED_MEMO 64
static struct {
        bool used;
        uint8_t ca_fpr[CR_SHA256_LEN];
        char root_fpr[STORE_FPR_BUF];
} signed_memo[SIGNED_MEMO];
static unsigned signed_memo_next;

static bool signed_memo_has(const uint8_t ca_fpr[CR_SHA256_LEN], const char *root_fpr)
{
        for (size_t i = 0; i < SIGNED_MEMO; i++)
                if (signed_memo[i].used && !memcmp(signed_memo[i].ca_fpr, ca_fpr, CR_SHA256_LEN) &&
                    !strcmp(signed_memo[i].root_fpr, root_fpr))
                        return true;
        return false;
}

static void signed_memo_put(const uint8_t ca_fpr[CR_SHA256_LEN], const char *root_fpr)
{
        unsigned i = signed_memo_next++ % SIGNED_MEMO;
        signed_memo[i].used = true;
        memcpy(signed_memo[i].ca_fpr, ca_fpr, CR_SHA256_LEN);
        snprintf(signed_memo[i].root_fpr, sizeof(signed_memo[i].root_fpr), "%s", root_fpr);
}

/* Tries one manufacturer root against the device CA: 1 when the device CA
 * is a CA signed by it (and *ret_root is a new reference to the root).
 * `ca_fpr` is the device CA's fingerprint, or NULL when unknown. */
static int try_root(const struct store_manufacturer *m, const struct cr_cert *device_ca,
                    const uint8_t *ca_fpr, struct cr_cert **ret_root)
{
        struct cr_cert *root = NULL;
        struct cr_key *pub = NULL;
        if (root_get(m, &root, &pub) < 0)
                return 0;
        if (!ca_fpr || !signed_memo_has(ca_fpr, m->fingerprint)) {
                if (cr_cert_verify_signature(device_ca, pub, NULL) < 0)
                        return 0;
                if (ca_fpr)
                        signed_memo_put(ca_fpr, m->fingerprint);
        }
        *ret_root = cr_cert_ref(root);
        return 1;
}

/* Step 2: the device CA chains to an imported manufacturer root. The
 * registered manufacturer of the UEID (if any) is tried first, then every
 * other root. */
static int find_root(struct store *st, const struct srv_dice_chain *ch,
                     const struct store_registry_record *rec, bool have_rec,
                     struct store_manufacturer *ret_m, struct cr_cert **ret_root,
                     struct srv_attest_result *res)
{
        struct rp_err e = {0};
        uint8_t fpr[CR_SHA256_LEN];
        const uint8_t *ca_fpr = cr_cert_fingerprint(ch->device_ca, fpr) == 0 ? fpr : NULL;
        if (!cr_cert_is_ca(ch->device_ca))
                return refuse(res, SRV_AT_CHAIN_UNKNOWN_MANUFACTURER, "the device CA "
                              "certificate is not a CA");
        if (have_rec) {
                struct store_manufacturer m;
                int r = store_mfr_get(st, rec->manufacturer_id, &m, &e);
                if (r < 0 && r != -ENOENT)
                        return internal(res, &e);
                if (r == 0 && try_root(&m, ch->device_ca, ca_fpr, ret_root)) {
                        *ret_m = m;
                        return 0;
                }
        }
        int64_t after = 0;
        do {
                _cleanup_free_ struct store_manufacturer *items = NULL;
                size_t n = 0;
                int64_t next = 0;
                int r = store_mfr_list(st, after, 100, &items, &n, &next, &e);
                if (r < 0)
                        return internal(res, &e);
                for (size_t i = 0; i < n; i++)
                        if (try_root(&items[i], ch->device_ca, ca_fpr, ret_root)) {
                                *ret_m = items[i];
                                return 0;
                        }
                after = next;
        } while (after > 0);
        return refuse(res, SRV_AT_CHAIN_UNKNOWN_MANUFACTURER, "the device CA of device '%s' is "
                      "not signed by any imported manufacturer root", ch->ueid);
}

/* True when `pem` (one certificate, as the registry stores it) holds
 * exactly the DER of `a`: the base64 body is decoded here, which is much
 * cheaper than parsing the certificate again. */
static bool cert_der_equal(const struct cr_cert *a, const char *pem)
{
        static const char begin[] = "-----BEGIN CERTIFICATE-----";
        static const char end[] = "-----END CERTIFICATE-----";
        const char *p = strstr(pem, begin), *q = p ? strstr(p, end) : NULL;
        _cleanup_free_ char *b64 = NULL;
        _cleanup_free_ uint8_t *der_b = NULL;
        _cleanup_free_ uint8_t *der_a = NULL;
        size_t n = 0, la = 0, lb = 0;
        if (!q)
                return false;
        p += sizeof(begin) - 1;
        b64 = malloc((size_t)(q - p) + 1);
        if (!b64)
                return false;
        for (; p < q; p++)
                if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
                        b64[n++] = *p;
        return srv_b64_decode(b64, n, &der_b, &lb) == 0 && cr_cert_to_der(a, &der_a, &la) == 0 &&
               la == lb && !memcmp(der_a, der_b, la);
}

/* True when the SPKI DER of a P-256 key (91 bytes: the uncompressed point
 * last) holds the same point as `k`. */
static bool spki_equal(const struct cr_key *k, const uint8_t *spki, size_t len)
{
        uint8_t raw[CR_P256_PUB_LEN];
        return len == 91 && cr_key_pub_raw(k, raw) == 0 &&
               !memcmp(raw, spki + len - CR_P256_PUB_LEN, CR_P256_PUB_LEN);
}

/* Step 11 (simplereenroll): the TLS client certificate is one this
 * tenant's CA issued to the same device and it has not expired. */
static int check_peer(struct store *st, const struct srv_attest_request *q,
                      struct srv_attest_result *res)
{
        struct rp_err e = {0};
        _cleanup_free_ char *serial = NULL;
        _cleanup_free_ char *cn = NULL;
        if (!q->peer)
                return refuse(res, SRV_AT_REENROLL_CERT_MISMATCH, "no TLS client certificate");
        if (cr_cert_serial_hex(q->peer, &serial) < 0)
                return refuse(res, SRV_AT_REENROLL_CERT_MISMATCH, "client certificate has no "
                              "readable serial");
        for (char *p = serial; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        *p = (char)(*p - 'A' + 'a');
        struct store_device_cert dc;
        int r = store_attest_cert_get(st, q->tenant_id, serial, &dc, &e);
        if (r == -ENOENT)
                return refuse(res, SRV_AT_REENROLL_CERT_MISMATCH, "client certificate serial "
                              "%.40s was not issued by this tenant", serial);
        if (r < 0)
                return internal(res, &e);
        if (strcmp(dc.ueid, res->ueid))
                return refuse(res, SRV_AT_REENROLL_CERT_MISMATCH, "client certificate belongs "
                              "to device '%s', the evidence to '%s'", dc.ueid, res->ueid);
        if (cr_cert_subject_cn(q->peer, &cn) < 0 || strcmp(cn, res->ueid))
                return refuse(res, SRV_AT_REENROLL_CERT_MISMATCH, "client certificate subject "
                              "is not CN=%s", res->ueid);
        time_t nb = 0, na = 0;
        time_t now = (time_t)(q->now_ms / 1000);
        if (cr_cert_validity(q->peer, &nb, &na) < 0 || now < nb || now > na)
                return refuse(res, SRV_AT_REENROLL_CERT_MISMATCH, "client certificate is not "
                              "valid now (expired or not yet valid)");
        /* signed by the current or the next CA of this tenant */
        static const char *const states[] = {"current", "next", "retired"};
        for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
                struct store_ca ca;
                _cleanup_(cr_cert_freep) struct cr_cert *cc = NULL;
                _cleanup_(cr_key_freep) struct cr_key *pub = NULL;
                r = store_ca_get_by_state(st, q->tenant_id, states[i], &ca, &e);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return internal(res, &e);
                if (cr_cert_from_pem(ca.cert_pem, strlen(ca.cert_pem), &cc, NULL) < 0 ||
                    cr_cert_pubkey(cc, &pub) < 0)
                        continue;
                if (cr_cert_verify_signature(q->peer, pub, NULL) == 0)
                        return 0;
        }
        return refuse(res, SRV_AT_REENROLL_CERT_MISMATCH, "client certificate is not signed by "
                      "this tenant's CA");
}

int srv_attest_verify(struct store *st, const struct srv_attest_request *q,
                      struct srv_attest_result *res)
{
        struct srv_dice_chain ch = {0};
        struct rp_err e = {0};
        char nonce[96];
        int r;

        memset(res, 0, sizeof(*res));
        /* 0: shape (nothing consumed yet) */
        if (srv_evidence_peek_nonce(q->evidence, q->evidence_len, nonce, &e) < 0)
                return refuse(res, SRV_AT_MALFORMED, "%s", e.msg);
        if (srv_chain_parse(q->chain, &ch, &e) < 0)
                return refuse(res, SRV_AT_MALFORMED, "%s", e.msg);
        snprintf(res->ueid, sizeof(res->ueid), "%s", ch.ueid);

        _cleanup_(cr_cert_freep) struct cr_cert *root = NULL;
        _cleanup_(cr_key_freep) struct cr_key *alias_pub = NULL;
        _cleanup_(cr_key_freep) struct cr_key *devid_pub = NULL;
        _cleanup_free_ uint8_t *payload = NULL;
        size_t payload_len = 0;
        struct store_registry_record *rec = malloc(sizeof(*rec));
        struct store_manufacturer *mfr = malloc(sizeof(*mfr));
        struct store_device_owner own;
        struct dice_tcb_info tcb;
        char alias_ueid[DICE_UEID_HEX_LEN + 1];
        bool have_rec = false;
        if (!rec || !mfr) {
                r = refuse(res, SRV_AT_INTERNAL, "out of memory");
                goto out;
        }

        /* 1: nonce */
        r = check_nonce(st, q, nonce, res);
        if (r < 0 || res->reason)
                goto out;

        /* 2: manufacturer */
        r = store_registry_get(st, ch.ueid, rec, &e);
        if (r < 0 && r != -ENOENT) {
                r = internal(res, &e);
                goto out;
        }
        have_rec = r == 0;
        r = find_root(st, &ch, rec, have_rec, mfr, &root, res);
        if (r < 0 || res->reason)
                goto out;

        /* 3: registration, claim, block */
        if (!have_rec) {
                r = refuse(res, SRV_AT_DEVICE_UNREGISTERED, "device '%s' is not registered",
                           ch.ueid);
                goto out;
        }
        if (cr_cert_pubkey(ch.deviceid, &devid_pub) < 0 ||
            !spki_equal(devid_pub, rec->deviceid_pub, rec->deviceid_pub_len) ||
            strcmp(rec->manufacturer_id, mfr->id) || !cert_der_equal(ch.device_ca, rec->device_ca)) {
                r = refuse(res, SRV_AT_DEVICE_UNREGISTERED, "device '%s' is registered with "
                           "another DeviceID key or device CA than the chain shows", ch.ueid);
                goto out;
        }
        r = store_attest_owner_get(st, ch.ueid, &own, &e);
        if (r == -ENOENT) {
                r = refuse(res, SRV_AT_DEVICE_UNCLAIMED, "device '%s' is registered but not "
                           "claimed", ch.ueid);
                goto out;
        }
        if (r < 0) {
                r = internal(res, &e);
                goto out;
        }
        if (strcmp(own.tenant_id, q->tenant_id)) {
                r = refuse(res, SRV_AT_DEVICE_OTHER_TENANT, "device '%s' is not claimed by "
                           "this tenant", ch.ueid);
                goto out;
        }
        res->device_in_tenant = true;
        if (strcmp(own.state, "active")) {
                r = refuse(res, SRV_AT_DEVICE_BLOCKED, "device '%s' is blocked", ch.ueid);
                goto out;
        }

        /* 4: each certificate of the chain */
        {
                struct cr_cert *untrusted[1] = {ch.device_ca};
                struct cr_cert *trusted[1] = {root};
                r = cr_chain_verify(ch.deviceid, untrusted, 1, trusted, 1,
                                    (time_t)(q->now_ms / 1000), &e);
                if (r < 0) {
                        r = refuse(res, SRV_AT_CHAIN_INVALID, "DeviceID chain: %s", e.msg);
                        goto out;
                }
        }
        if (!cr_cert_is_ca(ch.deviceid)) {
                r = refuse(res, SRV_AT_CHAIN_INVALID, "the DeviceID certificate is not a CA");
                goto out;
        }
        if (cr_cert_verify_signature(ch.alias, devid_pub, &e) < 0) {
                r = refuse(res, SRV_AT_ALIAS_NOT_SIGNED, "the Alias certificate is not signed "
                           "by the DeviceID key of device '%s'", ch.ueid);
                goto out;
        }
        {
                time_t nb = 0, na = 0, now = (time_t)(q->now_ms / 1000);
                if (cr_cert_validity(ch.alias, &nb, &na) < 0 || now < nb || now > na) {
                        r = refuse(res, SRV_AT_CHAIN_INVALID, "the Alias certificate is not "
                                   "valid now");
                        goto out;
                }
        }
        if (srv_chain_alias_ext(&ch, &tcb, alias_ueid, &e) < 0) {
                r = refuse(res, SRV_AT_CHAIN_INVALID, "%s", e.msg);
                goto out;
        }

        /* 5: evidence signature, then the claims of the verified payload */
        if (cr_cert_pubkey(ch.alias, &alias_pub) < 0) {
                r = refuse(res, SRV_AT_CHAIN_INVALID, "the Alias certificate key is unreadable");
                goto out;
        }
        r = cr_jws_verify(q->evidence, q->evidence_len, alias_pub, &payload, &payload_len, &e);
        if (r < 0) {
                r = refuse(res, SRV_AT_EVIDENCE_SIGNATURE, "evidence: %s", e.msg);
                goto out;
        }
        r = srv_evidence_claims_parse(payload, payload_len, &res->ev, &e);
        if (r < 0) {
                r = refuse(res, SRV_AT_MALFORMED, "%s", e.msg);
                goto out;
        }
        if (strcmp(res->ev.nonce, nonce)) {
                r = refuse(res, SRV_AT_MALFORMED, "evidence nonce changed between reads");
                goto out;
        }

        /* 6: one identity everywhere */
        if (strcmp(res->ev.ueid, ch.ueid) || strcmp(alias_ueid, ch.ueid)) {
                r = refuse(res, SRV_AT_UEID_MISMATCH, "ueid: evidence says '%s', Alias "
                           "certificate '%s', DeviceID key '%s'", res->ev.ueid, alias_ueid,
                           ch.ueid);
                goto out;
        }

        /* 7: debug state against the device's group */
        {
                bool debug = res->ev.dbgstat == 0 || (tcb.flags & DICE_FLAG_DEBUG) || rec->debug;
                if (debug && !own.debug_allowed) {
                        r = refuse(res, SRV_AT_DEBUG_NOT_ALLOWED, "device '%s' runs with debug "
                                   "enabled (dbgstat %d) and its group does not allow debug "
                                   "devices", ch.ueid, res->ev.dbgstat);
                        goto out;
                }
        }

        /* 8: the measured OS is a released one */
        {
                char fwid[2 * CR_SHA256_LEN + 1];
                struct store_os_release osr;
                rp_hex_encode(res->ev.fwid, CR_SHA256_LEN, fwid);
                if (memcmp(res->ev.fwid, tcb.fwid, CR_SHA256_LEN) ||
                    (uint64_t)res->ev.svn != tcb.svn) {
                        r = refuse(res, SRV_AT_OS_NOT_RELEASED, "evidence fwid/svn (%.16s.../%lld) "
                                   "differ from the Alias certificate's measurement",
                                   fwid, (long long)res->ev.svn);
                        goto out;
                }
                r = store_attest_osr_match(st, res->ev.swname, res->ev.swversion, res->ev.svn,
                                           fwid, &osr, &e);
                if (r == -ENOENT) {
                        /* an OS image released through the update repository
                         * (listed by the platform targets, verified at upload)
                         * is a reference value too */
                        struct store_image rel;
                        struct rp_err e2 = {0};
                        r = store_image_os_match(st, res->ev.swname, res->ev.swversion,
                                                 res->ev.svn, fwid, &rel, &e2);
                        if (r < 0 && r != -ENOENT) {
                                r = internal(res, &e2);
                                goto out;
                        }
                }
                if (r == -ENOENT) {
                        r = refuse(res, SRV_AT_OS_NOT_RELEASED, "%s", e.msg);
                        goto out;
                }
                if (r < 0) {
                        r = internal(res, &e);
                        goto out;
                }
        }

        /* 9: SVN floors */
        {
                int64_t floor = 0;
                struct store_device_attest prev;
                r = store_attest_floor_get(st, q->tenant_id, &floor, &e);
                if (r < 0) {
                        r = internal(res, &e);
                        goto out;
                }
                if (res->ev.svn < floor) {
                        r = refuse(res, SRV_AT_SVN_BELOW_FLOOR, "OS svn %lld is below the "
                                   "tenant's floor %lld", (long long)res->ev.svn,
                                   (long long)floor);
                        goto out;
                }
                r = store_attest_state_get(st, ch.ueid, &prev, &e);
                if (r < 0 && r != -ENOENT) {
                        r = internal(res, &e);
                        goto out;
                }
                if (r == 0 && res->ev.svn < prev.last_svn) {
                        r = refuse(res, SRV_AT_SVN_ROLLBACK, "OS svn %lld is lower than the svn "
                                   "%lld this device presented before", (long long)res->ev.svn,
                                   (long long)prev.last_svn);
                        goto out;
                }
        }

        /* 10: CSR proof of possession and binding */
        {
                enum srv_attest_reason why = SRV_AT_CSR_INVALID;
                char jkt[44];
                r = srv_csr_parse(q->csr, q->csr_len, &res->csr_pub, &why, &e);
                if (r < 0) {
                        r = refuse(res, why, "%s", e.msg);
                        goto out;
                }
                if (cr_key_jwk_thumbprint(res->csr_pub, jkt) < 0) {
                        r = refuse(res, SRV_AT_CSR_INVALID, "CSR key thumbprint failed");
                        goto out;
                }
                if (!res->ev.has_jkt || !cr_memeq(jkt, res->ev.jkt, 43)) {
                        r = refuse(res, SRV_AT_CSR_NOT_BOUND, "the CSR key (thumbprint %s) is "
                                   "not the key the evidence binds (%s)", jkt,
                                   res->ev.has_jkt ? res->ev.jkt : "none");
                        goto out;
                }
        }

        /* 11: reenroll authenticates with the current certificate */
        if (q->reenroll) {
                r = check_peer(st, q, res);
                if (r < 0 || res->reason)
                        goto out;
        }
        res->reason = SRV_AT_OK;
        res->msg[0] = 0;
        r = 0;
out:
        if (res->reason != SRV_AT_OK)
                srv_attest_result_clear(res);
        free(rec);
        free(mfr);
        srv_chain_clear(&ch);
        return r;
}
