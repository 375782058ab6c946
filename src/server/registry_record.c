/* registry_record.c - one registration record, verified (see
 * registry_record.h). */
#include <jansson.h>
#include <string.h>

#include "dice/dice.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "server/devices.h"
#include "server/http.h"
#include "server/registry_record.h"

static const char *const members[] = {"ueid", "deviceid_cert", "device_ca", "deviceid_pub",
                                      "debug", "provisioned_at"};

__attribute__((format(printf, 4, 5))) static int refuse(char *ret_field, const char *field,
                                                         struct rp_err *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        rp_err_setv(err, -EBADMSG, fmt, ap);
        va_end(ap);
        snprintf(ret_field, SRV_REG_FIELD_MAX, "%s", field ? field : "");
        return -EBADMSG;
}

/* Which root the device CA chains to; remembered per distinct device CA. */
static long ca_root(struct srv_reg_verifier *v, const struct cr_cert *ca, const char **ret_why)
{
        uint8_t fpr[CR_SHA256_LEN];
        if (cr_cert_fingerprint(ca, fpr) < 0) {
                *ret_why = "cannot fingerprint the device CA";
                return -1;
        }
        for (size_t i = 0; i < v->n_cas; i++)
                if (!memcmp(v->cas[i].fpr, fpr, sizeof(fpr))) {
                        *ret_why = v->cas[i].why;
                        return v->cas[i].root;
                }
        size_t slot = v->n_cas < SRV_REG_CA_CACHE ? v->n_cas++ : SRV_REG_CA_CACHE - 1;
        memcpy(v->cas[slot].fpr, fpr, sizeof(fpr));
        v->cas[slot].root = -1;
        snprintf(v->cas[slot].why, sizeof(v->cas[slot].why), "no manufacturer root is registered");
        for (size_t i = 0; i < v->n_roots; i++) {
                struct rp_err e = {0};
                struct cr_cert *anchor[1] = {v->roots[i]};
                if (cr_chain_verify(ca, NULL, 0, anchor, 1, 0, &e) == 0) {
                        v->cas[slot].root = (long)i;
                        v->cas[slot].why[0] = 0;
                        break;
                }
                snprintf(v->cas[slot].why, sizeof(v->cas[slot].why),
                         "does not chain to a registered manufacturer root (%.180s)", e.msg);
        }
        *ret_why = v->cas[slot].why;
        return v->cas[slot].root;
}

static int verify_object(struct srv_reg_verifier *v, json_t *o, struct store_registry_record *rec,
                         size_t *ret_root, char *f, struct rp_err *err)
{
        const char *k;
        json_t *m;
        json_object_foreach(o, k, m) {
                bool known = false;
                for (size_t i = 0; i < ARRAY_SIZE(members); i++)
                        known = known || !strcmp(k, members[i]);
                if (!known)
                        return refuse(f, k, err, "unknown member '%.64s'", k);
        }
        for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
                m = json_object_get(o, members[i]);
                bool is_bool = !strcmp(members[i], "debug");
                if (!m)
                        return refuse(f, members[i], err, "missing member '%s'", members[i]);
                if (is_bool ? !json_is_boolean(m) : !json_is_string(m))
                        return refuse(f, members[i], err, "member '%s' must be %s", members[i],
                                      is_bool ? "a boolean" : "a string");
        }
        const char *ueid = json_string_value(json_object_get(o, "ueid"));
        const char *pub_b64 = json_string_value(json_object_get(o, "deviceid_pub"));
        const char *cert_pem = json_string_value(json_object_get(o, "deviceid_cert"));
        const char *ca_pem = json_string_value(json_object_get(o, "device_ca"));
        const char *when = json_string_value(json_object_get(o, "provisioned_at"));
        size_t pub_len = json_string_length(json_object_get(o, "deviceid_pub"));
        size_t cert_len = json_string_length(json_object_get(o, "deviceid_cert"));
        size_t ca_len = json_string_length(json_object_get(o, "device_ca"));

        if (!srv_ueid_valid(ueid))
                return refuse(f, "ueid", err, "'%.64s' is not 40 lowercase hex characters", ueid);
        if (cert_len >= sizeof(rec->deviceid_cert))
                return refuse(f, "deviceid_cert", err, "certificate PEM longer than %d bytes",
                              STORE_PEM_MAX - 1);
        if (ca_len >= sizeof(rec->device_ca))
                return refuse(f, "device_ca", err, "certificate PEM longer than %d bytes",
                              STORE_PEM_MAX - 1);
        int64_t prov_ms = 0;
        if (srv_time_parse(when, &prov_ms) < 0)
                return refuse(f, "provisioned_at", err, "'%.40s' is not an RFC 3339 time", when);

        struct rp_err e = {0};
        _cleanup_free_ uint8_t *spki = NULL;
        size_t spki_len = 0;
        _cleanup_(cr_key_freep) struct cr_key *pub = NULL, *cert_pub = NULL, *ca_pub = NULL;
        _cleanup_(cr_cert_freep) struct cr_cert *cert = NULL, *ca = NULL;
        if (pub_len > 2 * STORE_SPKI_MAX || rp_b64url_decode(pub_b64, pub_len, &spki, &spki_len) < 0)
                return refuse(f, "deviceid_pub", err, "not base64url without padding");
        if (spki_len > sizeof(rec->deviceid_pub) ||
            cr_key_pub_from_der(spki, spki_len, &pub, &e) < 0)
                return refuse(f, "deviceid_pub", err, "not a P-256 SubjectPublicKeyInfo%s%s",
                              e.msg[0] ? ": " : "", e.msg);
        if (cr_cert_from_pem(ca_pem, ca_len, &ca, &e) < 0)
                return refuse(f, "device_ca", err, "%s", e.msg);
        if (cr_cert_from_pem(cert_pem, cert_len, &cert, &e) < 0)
                return refuse(f, "deviceid_cert", err, "%s", e.msg);
        if (!cr_cert_is_ca(ca) || cr_cert_pubkey(ca, &ca_pub) < 0)
                return refuse(f, "device_ca", err, "not a CA certificate");
        if (cr_cert_verify_signature(cert, ca_pub, &e) < 0)
                return refuse(f, "deviceid_cert", err, "not signed by the record's device_ca");
        const char *why = NULL;
        long root = ca_root(v, ca, &why);
        if (root < 0)
                return refuse(f, "device_ca", err, "%s", why);
        struct cr_cert *untrusted[1] = {ca};
        struct cr_cert *anchor[1] = {v->roots[root]};
        if (cr_chain_verify(cert, untrusted, 1, anchor, 1, 0, &e) < 0)
                return refuse(f, "deviceid_cert", err, "%s", e.msg);
        if (cr_cert_pubkey(cert, &cert_pub) < 0 || !cr_key_pub_equal(cert_pub, pub))
                return refuse(f, "deviceid_pub", err,
                              "is not the public key of the DeviceID certificate");
        uint8_t id[DICE_ID_LEN];
        char hex[DICE_UEID_HEX_LEN + 1];
        if (dice_id_derive(pub, id) < 0)
                return refuse(f, "deviceid_pub", err, "cannot derive the DeviceID identifier");
        dice_id_hex(id, hex);
        if (strcmp(hex, ueid))
                return refuse(f, "ueid", err,
                              "'%s' is not the DeviceID identifier of deviceid_pub (%s)", ueid, hex);
        _cleanup_free_ char *cn = NULL;
        if (cr_cert_subject_cn(cert, &cn) < 0 || !cn || strcmp(cn, ueid))
                return refuse(f, "deviceid_cert", err, "subject CN '%.64s' is not the ueid",
                              cn ? cn : "");
        _cleanup_free_ uint8_t *ext = NULL;
        size_t ext_len = 0;
        uint8_t ext_id[DICE_ID_LEN];
        if (cr_cert_ext(cert, DICE_OID_UEID, &ext, &ext_len) == 0 &&
            (dice_ueid_parse(ext, ext_len, ext_id, &e) < 0 || memcmp(ext_id, id, DICE_ID_LEN)))
                return refuse(f, "deviceid_cert", err, "UEID extension does not match the ueid");

        memset(rec, 0, sizeof(*rec));
        memcpy(rec->ueid, ueid, DICE_UEID_HEX_LEN + 1);
        memcpy(rec->deviceid_pub, spki, spki_len);
        rec->deviceid_pub_len = spki_len;
        memcpy(rec->deviceid_cert, cert_pem, cert_len + 1);
        memcpy(rec->device_ca, ca_pem, ca_len + 1);
        rec->debug = json_is_true(json_object_get(o, "debug"));
        rec->provisioned_ms = prov_ms;
        *ret_root = (size_t)root;
        return 0;
}

int srv_reg_record_verify(struct srv_reg_verifier *v, const char *text, size_t len,
                          struct store_registry_record *ret, size_t *ret_root,
                          char ret_field[SRV_REG_FIELD_MAX], struct rp_err *err)
{
        json_error_t je;
        ret_field[0] = 0;
        if (len > SRV_REG_MAX_LINE)
                return refuse(ret_field, NULL, err, "record of %zu bytes, the limit is %d", len,
                              SRV_REG_MAX_LINE);
        /* jansson refuses invalid UTF-8 and \u0000 and bounds the nesting */
        _cleanup_(json_decrefp) json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!o)
                return refuse(ret_field, NULL, err, "invalid JSON at column %d: %s", je.column,
                              je.text);
        if (!json_is_object(o))
                return refuse(ret_field, NULL, err, "a record must be a JSON object");
        return verify_object(v, o, ret, ret_root, ret_field, err);
}
