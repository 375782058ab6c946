/* x509.c - X.509 certificates: building (self-signed and issued, with the
 * extensions Rampart uses), PEM/DER conversion, accessors and chain
 * verification.
 *
 * Built certificates follow RFC 5280 profiles that OpenSSL's strict mode
 * (X509_V_FLAG_X509_STRICT) accepts: v3, positive serials of at most 20
 * octets, basicConstraints and keyUsage critical, SKI on every certificate
 * (RFC 7093 method 1: the leftmost 160 bits of SHA-256 over the
 * subjectPublicKey bits), AKI from the issuer's SKI. Custom extensions are
 * carried as given (DER) and are non-critical unless the caller says
 * otherwise; verification refuses unknown critical ones. */
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto_int.h"
#include "lib/fileio.h"

#define CR_CN_MAX 64            /* ub-common-name (RFC 5280) */
#define CR_O_MAX 64             /* ub-organization-name */
#define CR_SAN_MAX 255
#define CR_MAX_EXTS 16
#define CR_SERIAL_MAX 20        /* RFC 5280 4.1.2.2 */

void cr_x509_name_line(const X509_NAME *name, char *buf, size_t len)
{
        BIO *b = BIO_new(BIO_s_mem());
        char *data = NULL;
        long n;

        if (!len)
                return;
        buf[0] = '\0';
        if (!b)
                return;
        if (X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ) >= 0) {
                n = BIO_get_mem_data(b, &data);
                if (n > 0) {
                        size_t c = (size_t)n < len - 1 ? (size_t)n : len - 1;
                        memcpy(buf, data, c);
                        buf[c] = '\0';
                }
        }
        BIO_free(b);
}

/* ---- building ---- */

/* Printable ASCII only (IA5 without controls) for SAN URI / DNS values. */
static bool is_clean_ascii(const char *s, size_t max)
{
        size_t n = strlen(s);
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
                        return false;
        return true;
}

/* Reports whether `der` is exactly one well-formed, definite-length TLV. */
static bool der_single_tlv(const uint8_t *der, size_t len)
{
        const unsigned char *p = der;
        long plen = 0;
        int tag, cls, ret;

        if (!der || len == 0 || len > CR_MAX_PEM)
                return false;
        ret = ASN1_get_object(&p, &plen, &tag, &cls, (long)len);
        if (ret & 0x80) {
                ERR_clear_error();
                return false;
        }
        if ((ret & 0x01) && plen == 0)  /* indefinite length: not DER */
                return false;
        return (size_t)(p - der) + (size_t)plen == len;
}

static const int managed_nids[] = {
        NID_basic_constraints, NID_key_usage, NID_ext_key_usage, NID_subject_key_identifier,
        NID_authority_key_identifier, NID_subject_alt_name,
};

static int check_spec(const struct cr_cert_spec *s, struct rp_err *err)
{
        time_t nb = s->not_before;

        if (!s->cn || !*s->cn)
                return rp_err_set(err, -EINVAL, "certificate subject CN is required");
        if (strlen(s->cn) > CR_CN_MAX)
                return rp_err_set(err, -EINVAL, "certificate CN is %zu bytes, the limit is %d",
                                  strlen(s->cn), CR_CN_MAX);
        if (s->o && (!*s->o || strlen(s->o) > CR_O_MAX))
                return rp_err_set(err, -EINVAL, "certificate O must be 1..%d bytes, got %zu",
                                  CR_O_MAX, strlen(s->o));
        if (s->not_after <= 0)
                return rp_err_set(err, -EINVAL, "certificate not_after is required");
        if (nb == 0)
                nb = time(NULL) - 60;
        if (s->not_after <= nb)
                return rp_err_set(err, -EINVAL,
                                  "certificate not_after (%lld) is not after not_before (%lld)",
                                  (long long)s->not_after, (long long)nb);
        if (s->key_usage & ~(unsigned)(CR_KU_DIGITAL_SIGNATURE | CR_KU_KEY_CERT_SIGN |
                                       CR_KU_CRL_SIGN | CR_KU_KEY_AGREEMENT))
                return rp_err_set(err, -EINVAL, "unknown key usage bits 0x%x", s->key_usage);
        if (s->ext_key_usage & ~(unsigned)(CR_EKU_CLIENT_AUTH | CR_EKU_SERVER_AUTH |
                                           CR_EKU_CODE_SIGNING))
                return rp_err_set(err, -EINVAL, "unknown extended key usage bits 0x%x",
                                  s->ext_key_usage);
        if (s->ca && !(s->key_usage & CR_KU_KEY_CERT_SIGN))
                return rp_err_set(err, -EINVAL,
                                  "CA certificate '%s' needs key usage keyCertSign", s->cn);
        if (!s->ca && (s->key_usage & (CR_KU_KEY_CERT_SIGN | CR_KU_CRL_SIGN)))
                return rp_err_set(err, -EINVAL,
                                  "non-CA certificate '%s' cannot have keyCertSign/cRLSign", s->cn);
        if (s->ca && s->path_len < -1)
                return rp_err_set(err, -EINVAL, "path_len %d for CA certificate '%s': use -1 "
                                  "for unlimited or a count >= 0", s->path_len, s->cn);
        if (!s->ca && s->path_len > 0)
                return rp_err_set(err, -EINVAL, "path_len %d given for non-CA certificate '%s'",
                                  s->path_len, s->cn);
        if (s->san_uri && !is_clean_ascii(s->san_uri, CR_SAN_MAX))
                return rp_err_set(err, -EINVAL, "subjectAltName URI '%s' is empty, too long or "
                                  "not printable ASCII", s->san_uri);
        if (s->san_dns && !is_clean_ascii(s->san_dns, CR_SAN_MAX))
                return rp_err_set(err, -EINVAL, "subjectAltName DNS name '%s' is empty, too long "
                                  "or not printable ASCII", s->san_dns);
        if (s->n_exts > CR_MAX_EXTS)
                return rp_err_set(err, -EINVAL, "%zu custom extensions, the limit is %d",
                                  s->n_exts, CR_MAX_EXTS);
        if (s->n_exts && !s->exts)
                return rp_err_set(err, -EINVAL, "n_exts is %zu but exts is NULL", s->n_exts);
        for (size_t i = 0; i < s->n_exts; i++) {
                const struct cr_ext *e = &s->exts[i];
                ASN1_OBJECT *obj = e->oid ? OBJ_txt2obj(e->oid, 1) : NULL;
                int nid;

                if (!obj) {
                        ERR_clear_error();
                        return rp_err_set(err, -EINVAL, "custom extension OID '%s' is not a "
                                          "dotted OID", e->oid ? e->oid : "(null)");
                }
                nid = OBJ_obj2nid(obj);
                ASN1_OBJECT_free(obj);
                for (size_t j = 0; j < sizeof(managed_nids) / sizeof(managed_nids[0]); j++)
                        if (nid == managed_nids[j])
                                return rp_err_set(err, -EINVAL,
                                                  "extension %s is set through the "
                                                  "certificate spec, not as a custom extension",
                                                  e->oid);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(s->exts[j].oid, e->oid) == 0)
                                return rp_err_set(err, -EINVAL,
                                                  "custom extension %s appears twice", e->oid);
                if (!der_single_tlv(e->der, e->der_len))
                        return rp_err_set(err, -EINVAL,
                                          "custom extension %s: value (%zu bytes) is not one "
                                          "DER element", e->oid, e->der_len);
        }
        return 0;
}

static int set_name(X509_NAME *name, const char *cn, const char *o, struct rp_err *err)
{
        if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                       (const unsigned char *)cn, -1, -1, 0) != 1)
                return cr_ossl_err(err, -EINVAL, "cannot set CN '%s'", cn);
        if (o && X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                            (const unsigned char *)o, -1, -1, 0) != 1)
                return cr_ossl_err(err, -EINVAL, "cannot set O '%s'", o);
        return 0;
}

static int set_serial(X509 *x, const char *serial_hex, struct rp_err *err)
{
        uint8_t rnd[16];
        BIGNUM *bn = NULL;
        int r = 0;

        if (serial_hex) {
                size_t n = strlen(serial_hex);
                if (n == 0 || n > 2 * CR_SERIAL_MAX || strspn(serial_hex, "0123456789abcdefABCDEF") != n)
                        return rp_err_set(err, -EINVAL,
                                          "serial '%s' is not 1..%d hex digits", serial_hex,
                                          2 * CR_SERIAL_MAX);
                if (!BN_hex2bn(&bn, serial_hex))
                        return cr_ossl_err(err, -ENOMEM, "cannot parse serial '%s'", serial_hex);
                /* RFC 5280: positive, at most 20 octets (a leading 1-bit would
                 * need a 21st octet in DER) */
                if (BN_is_zero(bn) || BN_num_bytes(bn) > CR_SERIAL_MAX ||
                    (BN_num_bytes(bn) == CR_SERIAL_MAX && BN_num_bits(bn) == 8 * CR_SERIAL_MAX)) {
                        BN_free(bn);
                        return rp_err_set(err, -EINVAL, "serial '%s' must be positive and fit "
                                          "in %d DER octets", serial_hex, CR_SERIAL_MAX);
                }
        } else {
                r = cr_random(rnd, sizeof(rnd));
                if (r < 0)
                        return rp_err_set(err, r, "no randomness for the serial");
                rnd[0] &= 0x7f;        /* positive */
                rnd[0] |= 0x40;        /* never zero, always 16 octets */
                bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
                if (!bn)
                        return cr_ossl_err(err, -ENOMEM, "cannot build serial");
        }
        if (!BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
                r = cr_ossl_err(err, -EIO, "cannot set serial");
        BN_free(bn);
        return r;
}

/* SKI per RFC 7093 method 1, over the subjectPublicKey bits of `xpk`. */
static int spki_key_identifier(const X509_PUBKEY *xpk, uint8_t out[20])
{
        const unsigned char *pk;
        uint8_t d[CR_SHA256_LEN];
        int pklen;

        if (X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk) != 1 || pklen <= 0)
                return -EIO;
        cr_sha256(pk, (size_t)pklen, d);
        memcpy(out, d, 20);
        return 0;
}

/* The same for a key that is not in the certificate being built. */
static int key_identifier(EVP_PKEY *pkey, uint8_t out[20])
{
        X509_PUBKEY *xpk = NULL;
        int r;

        if (X509_PUBKEY_set(&xpk, pkey) != 1)
                return -EIO;
        r = spki_key_identifier(xpk, out);
        X509_PUBKEY_free(xpk);
        return r;
}

/* A legacy (EC_KEY-backed) copy of the public half of a P-256 key. On
 * OpenSSL 3.0, X509_set_pubkey() with a provider key runs an OSSL_ENCODER
 * to SubjectPublicKeyInfo DER and then the decoder back into a new key,
 * which together cost several ECDSA signatures; a legacy key is encoded by
 * its ASN.1 method directly. Built from the named-curve parameters and the
 * uncompressed point, so the SPKI is the same as the provider key's. */
static EVP_PKEY *legacy_p256_pub(EVP_PKEY *pkey)
{
        static const uint8_t p256_params[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                              0xce, 0x3d, 0x03, 0x01, 0x07};
        const struct cr_key k = {.pkey = pkey};
        uint8_t raw[CR_P256_PUB_LEN];
        const unsigned char *p = p256_params;
        EVP_PKEY *out;

        if (cr_key_pub_raw(&k, raw) < 0)
                return NULL;
        out = d2i_KeyParams(EVP_PKEY_EC, NULL, &p, sizeof(p256_params));
        if (!out)
                return NULL;
        p = raw;
        if (!d2i_PublicKey(EVP_PKEY_EC, &out, &p, sizeof(raw))) {
                EVP_PKEY_free(out);
                return NULL;
        }
        return out;
}

static int add_ext_i2d(X509 *x, int nid, void *value, bool crit, const char *what,
                       struct rp_err *err)
{
        if (X509_add1_ext_i2d(x, nid, value, crit ? 1 : 0, X509V3_ADD_APPEND) != 1)
                return cr_ossl_err(err, -EIO, "cannot add %s extension", what);
        return 0;
}

static int add_san(X509 *x, const struct cr_cert_spec *s, struct rp_err *err)
{
        GENERAL_NAMES *gens;
        int r = 0;
        struct {
                const char *v;
                int type;
        } names[] = {{s->san_uri, GEN_URI}, {s->san_dns, GEN_DNS}};

        if (!s->san_uri && !s->san_dns && !s->san_ip)
                return 0;
        gens = sk_GENERAL_NAME_new_null();
        if (!gens)
                return cr_ossl_err(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < 2; i++) {
                GENERAL_NAME *g;
                ASN1_IA5STRING *ia5;
                if (!names[i].v)
                        continue;
                g = GENERAL_NAME_new();
                ia5 = ASN1_IA5STRING_new();
                if (!g || !ia5 || ASN1_STRING_set(ia5, names[i].v, -1) != 1) {
                        GENERAL_NAME_free(g);
                        ASN1_IA5STRING_free(ia5);
                        r = cr_ossl_err(err, -ENOMEM, "out of memory");
                        goto out;
                }
                GENERAL_NAME_set0_value(g, names[i].type, ia5);
                if (!sk_GENERAL_NAME_push(gens, g)) {
                        GENERAL_NAME_free(g);
                        r = cr_ossl_err(err, -ENOMEM, "out of memory");
                        goto out;
                }
        }
        if (s->san_ip) {
                ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s->san_ip);
                GENERAL_NAME *g;
                if (!ip) {
                        ERR_clear_error();
                        r = rp_err_set(err, -EINVAL, "subjectAltName IP '%s' is not an IPv4 or "
                                       "IPv6 address", s->san_ip);
                        goto out;
                }
                g = GENERAL_NAME_new();
                if (!g) {
                        ASN1_OCTET_STRING_free(ip);
                        r = cr_ossl_err(err, -ENOMEM, "out of memory");
                        goto out;
                }
                GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
                if (!sk_GENERAL_NAME_push(gens, g)) {
                        GENERAL_NAME_free(g);
                        r = cr_ossl_err(err, -ENOMEM, "out of memory");
                        goto out;
                }
        }
        r = add_ext_i2d(x, NID_subject_alt_name, gens, false, "subjectAltName", err);
out:
        GENERAL_NAMES_free(gens);
        return r;
}

static int add_extensions(X509 *x, const struct cr_cert_spec *s, EVP_PKEY *issuer_pkey,
                          X509 *issuer, struct rp_err *err)
{
        uint8_t ski[20], aki[20];
        int r;

        /* basicConstraints, critical */
        {
                BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
                if (!bc)
                        return cr_ossl_err(err, -ENOMEM, "out of memory");
                bc->ca = s->ca ? 0xff : 0;
                if (s->ca && s->path_len >= 0) {
                        bc->pathlen = ASN1_INTEGER_new();
                        if (!bc->pathlen || ASN1_INTEGER_set(bc->pathlen, s->path_len) != 1) {
                                BASIC_CONSTRAINTS_free(bc);
                                return cr_ossl_err(err, -ENOMEM, "out of memory");
                        }
                }
                r = add_ext_i2d(x, NID_basic_constraints, bc, true, "basicConstraints", err);
                BASIC_CONSTRAINTS_free(bc);
                if (r < 0)
                        return r;
        }
        /* keyUsage, critical */
        if (s->key_usage) {
                ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
                static const struct {
                        unsigned flag;
                        int bit;
                } bits[] = {{CR_KU_DIGITAL_SIGNATURE, 0}, {CR_KU_KEY_AGREEMENT, 4},
                            {CR_KU_KEY_CERT_SIGN, 5}, {CR_KU_CRL_SIGN, 6}};
                if (!ku)
                        return cr_ossl_err(err, -ENOMEM, "out of memory");
                for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
                        if ((s->key_usage & bits[i].flag) &&
                            ASN1_BIT_STRING_set_bit(ku, bits[i].bit, 1) != 1) {
                                ASN1_BIT_STRING_free(ku);
                                return cr_ossl_err(err, -ENOMEM, "out of memory");
                        }
                r = add_ext_i2d(x, NID_key_usage, ku, true, "keyUsage", err);
                ASN1_BIT_STRING_free(ku);
                if (r < 0)
                        return r;
        }
        /* extendedKeyUsage, non-critical */
        if (s->ext_key_usage) {
                EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
                static const struct {
                        unsigned flag;
                        int nid;
                } ekus[] = {{CR_EKU_CLIENT_AUTH, NID_client_auth},
                            {CR_EKU_SERVER_AUTH, NID_server_auth},
                            {CR_EKU_CODE_SIGNING, NID_code_sign}};
                if (!eku)
                        return cr_ossl_err(err, -ENOMEM, "out of memory");
                for (size_t i = 0; i < sizeof(ekus) / sizeof(ekus[0]); i++)
                        if ((s->ext_key_usage & ekus[i].flag) &&
                            !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(ekus[i].nid))) {
                                sk_ASN1_OBJECT_free(eku);
                                return cr_ossl_err(err, -ENOMEM, "out of memory");
                        }
                r = add_ext_i2d(x, NID_ext_key_usage, eku, false, "extendedKeyUsage", err);
                sk_ASN1_OBJECT_free(eku);   /* the objects are static */
                if (r < 0)
                        return r;
        }
        /* subjectKeyIdentifier and authorityKeyIdentifier, non-critical */
        if (spki_key_identifier(X509_get_X509_PUBKEY(x), ski) < 0)
                return cr_ossl_err(err, -EIO, "cannot compute subject key identifier");
        {
                ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
                if (!os || ASN1_OCTET_STRING_set(os, ski, sizeof(ski)) != 1) {
                        ASN1_OCTET_STRING_free(os);
                        return cr_ossl_err(err, -ENOMEM, "out of memory");
                }
                r = add_ext_i2d(x, NID_subject_key_identifier, os, false,
                                "subjectKeyIdentifier", err);
                ASN1_OCTET_STRING_free(os);
                if (r < 0)
                        return r;
        }
        {
                const ASN1_OCTET_STRING *iski = issuer ? X509_get0_subject_key_id(issuer) : NULL;
                AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
                if (!akid)
                        return cr_ossl_err(err, -ENOMEM, "out of memory");
                akid->keyid = ASN1_OCTET_STRING_new();
                if (!akid->keyid) {
                        AUTHORITY_KEYID_free(akid);
                        return cr_ossl_err(err, -ENOMEM, "out of memory");
                }
                if (iski) {
                        r = ASN1_OCTET_STRING_set(akid->keyid, ASN1_STRING_get0_data(iski),
                                                  ASN1_STRING_length(iski)) == 1 ? 0 : -ENOMEM;
                } else if (!issuer) {
                        /* self-signed: the issuer's key is the subject's */
                        r = ASN1_OCTET_STRING_set(akid->keyid, ski, sizeof(ski)) == 1 ? 0 : -ENOMEM;
                } else {
                        /* an issuer without SKI: derive it the same way from
                         * the issuer's key */
                        r = key_identifier(issuer_pkey, aki);
                        if (r == 0 && ASN1_OCTET_STRING_set(akid->keyid, aki, sizeof(aki)) != 1)
                                r = -ENOMEM;
                }
                if (r < 0) {
                        AUTHORITY_KEYID_free(akid);
                        return cr_ossl_err(err, r, "cannot build authority key identifier");
                }
                r = add_ext_i2d(x, NID_authority_key_identifier, akid, false,
                                "authorityKeyIdentifier", err);
                AUTHORITY_KEYID_free(akid);
                if (r < 0)
                        return r;
        }
        r = add_san(x, s, err);
        if (r < 0)
                return r;
        /* custom extensions, as given */
        for (size_t i = 0; i < s->n_exts; i++) {
                const struct cr_ext *e = &s->exts[i];
                ASN1_OBJECT *obj = OBJ_txt2obj(e->oid, 1);
                ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
                X509_EXTENSION *ext = NULL;
                int ok = obj && os && ASN1_OCTET_STRING_set(os, e->der, (int)e->der_len) == 1;
                if (ok)
                        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, e->critical ? 1 : 0, os);
                ok = ext && X509_add_ext(x, ext, -1) == 1;
                X509_EXTENSION_free(ext);
                ASN1_OCTET_STRING_free(os);
                ASN1_OBJECT_free(obj);
                if (!ok)
                        return cr_ossl_err(err, -EIO, "cannot add custom extension %s", e->oid);
        }
        return 0;
}

/* Builds and signs a certificate; `issuer` NULL means self-signed. */
static int build_cert(X509 *issuer, EVP_PKEY *issuer_pkey, EVP_PKEY *subject_pkey,
                      const struct cr_cert_spec *s, struct cr_cert **ret, struct rp_err *err)
{
        X509 *x;
        X509_NAME *name = NULL;
        EVP_PKEY *spk;
        time_t nb = s->not_before ? s->not_before : time(NULL) - 60;
        int r;

        ERR_clear_error();
        x = X509_new();
        if (!x)
                return cr_ossl_err(err, -ENOMEM, "out of memory");
        spk = legacy_p256_pub(subject_pkey);
        if (!spk || X509_set_version(x, X509_VERSION_3) != 1 || X509_set_pubkey(x, spk) != 1) {
                EVP_PKEY_free(spk);
                r = cr_ossl_err(err, -EIO, "cannot initialise certificate");
                goto fail;
        }
        EVP_PKEY_free(spk);     /* the certificate holds its own reference */
        r = set_serial(x, s->serial_hex, err);
        if (r < 0)
                goto fail;
        name = X509_NAME_new();
        if (!name) {
                r = cr_ossl_err(err, -ENOMEM, "out of memory");
                goto fail;
        }
        r = set_name(name, s->cn, s->o, err);
        if (r < 0)
                goto fail;
        if (X509_set_subject_name(x, name) != 1 ||
            X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1) {
                r = cr_ossl_err(err, -EIO, "cannot set certificate names");
                goto fail;
        }
        /* ASN1_TIME_set picks UTCTime before 2050 and GeneralizedTime from
         * then on, as RFC 5280 4.1.2.5 requires */
        if (!ASN1_TIME_set(X509_getm_notBefore(x), nb) ||
            !ASN1_TIME_set(X509_getm_notAfter(x), s->not_after)) {
                r = cr_ossl_err(err, -EINVAL, "cannot set validity %lld..%lld", (long long)nb,
                                (long long)s->not_after);
                goto fail;
        }
        r = add_extensions(x, s, issuer_pkey, issuer, err);
        if (r < 0)
                goto fail;
        if (X509_sign(x, issuer_pkey, EVP_sha256()) <= 0) {
                r = cr_ossl_err(err, -EIO, "cannot sign certificate '%s'", s->cn);
                goto fail;
        }
        X509_NAME_free(name);
        *ret = cr_cert_wrap(x);
        return 0;
fail:
        X509_NAME_free(name);
        X509_free(x);
        return r;
}

int cr_cert_self_signed(const struct cr_key *key, const struct cr_cert_spec *spec,
                        struct cr_cert **ret, struct rp_err *err)
{
        int r;

        if (!key || !key->priv)
                return rp_err_set(err, -EINVAL, "a self-signed certificate needs a private key");
        r = check_spec(spec, err);
        if (r < 0)
                return r;
        return build_cert(NULL, key->pkey, key->pkey, spec, ret, err);
}

int cr_cert_issue(const struct cr_cert *issuer, const struct cr_key *issuer_key,
                  const struct cr_key *subject_pub, const struct cr_cert_spec *spec,
                  struct cr_cert **ret, struct rp_err *err)
{
        X509 *ix = cr_cert_x509(issuer);
        char iname[128];
        int r;

        if (!issuer_key || !issuer_key->priv)
                return rp_err_set(err, -EINVAL, "issuing a certificate needs the issuer's "
                                  "private key");
        if (!subject_pub)
                return rp_err_set(err, -EINVAL, "no subject public key");
        r = check_spec(spec, err);
        if (r < 0)
                return r;
        ERR_clear_error();
        cr_x509_name_line(X509_get_subject_name(ix), iname, sizeof(iname));
        if (X509_check_private_key(ix, issuer_key->pkey) != 1) {
                ERR_clear_error();
                return rp_err_set(err, -EINVAL, "issuer key does not belong to issuer "
                                  "certificate '%s'", iname);
        }
        if (X509_check_ca(ix) != 1)
                return rp_err_set(err, -EINVAL, "issuer certificate '%s' is not a CA with "
                                  "keyCertSign", iname);
        return build_cert(ix, issuer_key->pkey, subject_pub->pkey, spec, ret, err);
}

void cr_cert_free(struct cr_cert *c)
{
        X509_free(cr_cert_x509(c));
}

struct cr_cert *cr_cert_ref(struct cr_cert *c)
{
        if (c)
                X509_up_ref(cr_cert_x509(c));
        return c;
}

/* ---- encoding ---- */

int cr_cert_from_pem(const void *pem, size_t len, struct cr_cert **ret, struct rp_err *err)
{
        struct cr_cert **v = NULL;
        size_t n = 0;
        int r;

        r = cr_certs_from_pem(pem, len, 1, &v, &n, err);
        if (r < 0)
                return r;
        *ret = v[0];
        free(v);
        return 0;
}

/* `ctx` NULL: OpenSSL's default library context; else each certificate is
 * parsed in `ctx` (the keyless context). */
static int certs_from_pem(const void *pem, size_t len, size_t max, OSSL_LIB_CTX *ctx,
                          struct cr_cert ***ret, size_t *ret_n, struct rp_err *err)
{
        struct cr_cert **v = NULL;
        size_t n = 0;
        BIO *bio;
        int r = 0;

        ERR_clear_error();
        if (!pem || len == 0)
                return rp_err_set(err, -EINVAL, "empty PEM certificate data");
        if (len > CR_MAX_PEM)
                return rp_err_set(err, -EFBIG, "PEM certificate data of %zu bytes exceeds the "
                                  "limit of %d", len, CR_MAX_PEM);
        if (max == 0)
                return rp_err_set(err, -EINVAL, "certificate limit is 0");
        bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate BIO");
        for (;;) {
                X509 *x = NULL;
                struct cr_cert **nv;
                if (ctx) {
                        x = X509_new_ex(ctx, NULL);
                        if (!x) {
                                r = cr_ossl_err(err, -ENOMEM, "out of memory");
                                goto out;
                        }
                        if (!PEM_read_bio_X509(bio, &x, NULL, NULL)) {
                                X509_free(x);   /* NULL if the decoder freed it */
                                x = NULL;
                        }
                } else {
                        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
                }
                if (!x) {
                        unsigned long e = ERR_peek_last_error();
                        if (n > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
                            ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                                ERR_clear_error();
                                break;
                        }
                        if (n == 0 && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                                ERR_clear_error();
                                r = rp_err_set(err, -EINVAL, "no PEM 'CERTIFICATE' block found");
                        } else {
                                r = cr_ossl_err(err, -EINVAL, "cannot parse PEM certificate #%zu",
                                                n + 1);
                        }
                        goto out;
                }
                if (n == max) {
                        X509_free(x);
                        r = rp_err_set(err, -E2BIG, "more than %zu certificates in PEM data", max);
                        goto out;
                }
                nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv) {
                        X509_free(x);
                        r = rp_err_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                v = nv;
                v[n++] = cr_cert_wrap(x);
        }
out:
        BIO_free(bio);
        if (r < 0) {
                cr_certs_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int cr_certs_from_pem(const void *pem, size_t len, size_t max, struct cr_cert ***ret,
                      size_t *ret_n, struct rp_err *err)
{
        return certs_from_pem(pem, len, max, NULL, ret, ret_n, err);
}

int cr_certs_from_pem_keyless(const void *pem, size_t len, size_t max, struct cr_cert ***ret,
                              size_t *ret_n, struct rp_err *err)
{
        OSSL_LIB_CTX *kl = cr_keyless_libctx();
        int r = certs_from_pem(pem, len, max, kl, ret, ret_n, err);

        /* what the parse could not do in that context (the key decode, the
         * SHA-1 cache) leaves errors behind */
        if (r == 0)
                ERR_clear_error();
        return r;
}

void cr_certs_free(struct cr_cert **v, size_t n)
{
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                cr_cert_free(v[i]);
        free(v);
}

int cr_pem_string(int (*write)(BIO *b, const void *obj), const void *obj, char **ret_pem,
                  struct rp_err *err, const char *what)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL, *out;
        long n;

        ERR_clear_error();
        if (!bio)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate BIO");
        if (write(bio, obj) != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0) {
                BIO_free(bio);
                return cr_ossl_err(err, -EIO, "cannot encode %s as PEM", what);
        }
        out = malloc((size_t)n + 1);
        if (!out) {
                BIO_free(bio);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        BIO_free(bio);
        *ret_pem = out;
        return 0;
}

static int write_cert(BIO *b, const void *c)
{
        return PEM_write_bio_X509(b, cr_cert_x509(c));
}

int cr_cert_to_pem(const struct cr_cert *c, char **ret_pem, struct rp_err *err)
{
        return cr_pem_string(write_cert, c, ret_pem, err, "certificate");
}

int cr_cert_load_pem(const char *path, struct cr_cert **ret, struct rp_err *err)
{
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        r = rp_read_file(path, CR_MAX_PEM, &data, &len, err);
        if (r < 0)
                return r;
        r = cr_cert_from_pem(data, len, ret, err);
        free(data);
        if (r < 0)
                return rp_err_prefix(err, "certificate file '%s'", path);
        return 0;
}

int cr_cert_save_pem(const char *path, const struct cr_cert *c, struct rp_err *err)
{
        char *pem = NULL;
        int r;

        r = cr_cert_to_pem(c, &pem, err);
        if (r < 0)
                return r;
        r = rp_write_file_atomic(path, pem, strlen(pem), 0644, err);
        free(pem);
        return r;
}

int cr_cert_from_der(const void *der, size_t len, struct cr_cert **ret, struct rp_err *err)
{
        const unsigned char *p = der;
        X509 *x;

        ERR_clear_error();
        if (!der || len == 0)
                return rp_err_set(err, -EINVAL, "empty certificate DER");
        if (len > CR_MAX_PEM)
                return rp_err_set(err, -EFBIG, "certificate DER of %zu bytes exceeds the limit "
                                  "of %d", len, CR_MAX_PEM);
        x = d2i_X509(NULL, &p, (long)len);
        if (!x)
                return cr_ossl_err(err, -EINVAL, "cannot parse certificate DER");
        if ((size_t)(p - (const unsigned char *)der) != len) {
                X509_free(x);
                return rp_err_set(err, -EINVAL, "certificate DER has %zu trailing bytes",
                                  len - (size_t)(p - (const unsigned char *)der));
        }
        *ret = cr_cert_wrap(x);
        return 0;
}

int cr_cert_to_der(const struct cr_cert *c, uint8_t **ret_der, size_t *ret_len)
{
        unsigned char *p;
        uint8_t *buf;
        int n = i2d_X509(cr_cert_x509(c), NULL);

        if (n <= 0)
                return -EIO;
        buf = malloc((size_t)n);
        if (!buf)
                return -ENOMEM;
        p = buf;
        if (i2d_X509(cr_cert_x509(c), &p) != n) {
                free(buf);
                return -EIO;
        }
        *ret_der = buf;
        *ret_len = (size_t)n;
        return 0;
}

/* ---- accessors ---- */

int cr_cert_pubkey(const struct cr_cert *c, struct cr_key **ret)
{
        X509 *x = cr_cert_x509(c);
        EVP_PKEY *pkey;
        int r;

        ERR_set_mark();
        pkey = X509_get_pubkey(x);   /* new reference; NULL when parsed keyless */
        ERR_pop_to_mark();
        if (!pkey) {
                r = cr_key_from_spki(X509_get_X509_PUBKEY(x), ret, NULL);
                ERR_clear_error();
                return r;
        }
        r = cr_key_wrap(pkey, false, ret, NULL);
        if (r < 0)
                EVP_PKEY_free(pkey);
        return r;
}

static int name_entry(const struct cr_cert *c, int nid, char **ret)
{
        X509_NAME *name = X509_get_subject_name(cr_cert_x509(c));
        int i = X509_NAME_get_index_by_NID(name, nid, -1);
        unsigned char *utf8 = NULL;
        char *out;
        int n;

        if (i < 0)
                return -ENOENT;
        n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
        if (n < 0) {
                ERR_clear_error();
                return -EINVAL;
        }
        /* an embedded NUL would let "a\0b" pass for "a" */
        if (memchr(utf8, '\0', (size_t)n)) {
                OPENSSL_free(utf8);
                return -EINVAL;
        }
        out = strndup((const char *)utf8, (size_t)n);
        OPENSSL_free(utf8);
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}

int cr_cert_subject_cn(const struct cr_cert *c, char **ret)
{
        return name_entry(c, NID_commonName, ret);
}

int cr_cert_subject_o(const struct cr_cert *c, char **ret)
{
        return name_entry(c, NID_organizationName, ret);
}

int cr_cert_serial_hex(const struct cr_cert *c, char **ret)
{
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cr_cert_x509(c)), NULL);
        char *hex, *out;

        if (!bn)
                return -ENOMEM;
        hex = BN_bn2hex(bn);
        BN_free(bn);
        if (!hex)
                return -ENOMEM;
        out = strdup(hex);
        OPENSSL_free(hex);
        if (!out)
                return -ENOMEM;
        for (char *p = out; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        *p = (char)(*p - 'A' + 'a');
        *ret = out;
        return 0;
}

static int asn1_time_to_time_t(const ASN1_TIME *t, time_t *ret)
{
        struct tm tm;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
                ERR_clear_error();
                return -EINVAL;
        }
        *ret = timegm(&tm);
        return 0;
}

int cr_cert_validity(const struct cr_cert *c, time_t *ret_not_before, time_t *ret_not_after)
{
        time_t nb, na;
        int r;

        r = asn1_time_to_time_t(X509_get0_notBefore(cr_cert_x509(c)), &nb);
        if (r < 0)
                return r;
        r = asn1_time_to_time_t(X509_get0_notAfter(cr_cert_x509(c)), &na);
        if (r < 0)
                return r;
        if (ret_not_before)
                *ret_not_before = nb;
        if (ret_not_after)
                *ret_not_after = na;
        return 0;
}

int cr_cert_ext(const struct cr_cert *c, const char *oid, uint8_t **ret_der, size_t *ret_len)
{
        ASN1_OBJECT *obj = oid ? OBJ_txt2obj(oid, 1) : NULL;
        const ASN1_OCTET_STRING *data;
        X509_EXTENSION *ext;
        uint8_t *out;
        int i, n;

        if (!obj) {
                ERR_clear_error();
                return -EINVAL;
        }
        i = X509_get_ext_by_OBJ(cr_cert_x509(c), obj, -1);
        ASN1_OBJECT_free(obj);
        if (i < 0)
                return -ENOENT;
        ext = X509_get_ext(cr_cert_x509(c), i);
        data = X509_EXTENSION_get_data(ext);
        n = ASN1_STRING_length(data);
        out = malloc(n > 0 ? (size_t)n : 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, ASN1_STRING_get0_data(data), (size_t)n);
        *ret_der = out;
        *ret_len = (size_t)n;
        return 0;
}

int cr_cert_fingerprint(const struct cr_cert *c, uint8_t out[CR_SHA256_LEN])
{
        uint8_t *der = NULL;
        size_t len = 0;
        /* hashed here: X509_digest fetches SHA-256 in the certificate's
         * library context, which a keyless certificate cannot */
        int r = cr_cert_to_der(c, &der, &len);

        if (r < 0)
                return r;
        cr_sha256(der, len, out);
        free(der);
        return 0;
}

bool cr_cert_is_ca(const struct cr_cert *c)
{
        return c && (X509_get_extension_flags(cr_cert_x509(c)) & EXFLAG_CA) != 0;
}

int cr_cert_verify_signature(const struct cr_cert *c, const struct cr_key *issuer_pub,
                             struct rp_err *err)
{
        X509 *x = cr_cert_x509(c);
        const ASN1_BIT_STRING *sig = NULL;
        const X509_ALGOR *alg = NULL;
        const ASN1_OBJECT *oid = NULL;
        char subj[128];

        ERR_clear_error();
        X509_get0_signature(&sig, &alg, x);
        X509_ALGOR_get0(&oid, NULL, NULL, alg);
        if (OBJ_obj2nid(oid) == NID_ecdsa_with_SHA256 &&
            X509_ALGOR_cmp(alg, X509_get0_tbs_sigalg(x)) == 0) {
                /* what X509_verify does for this algorithm, without the
                 * certificate's library context (a keyless certificate's
                 * cannot verify anything) */
                uint8_t *der = NULL;
                size_t len = 0;
                int r = cr_cert_to_der(c, &der, &len);
                if (r == 0)
                        r = cr_signed_part_verify(der, len, sig, issuer_pub, NULL);
                free(der);
                if (r == 0)
                        return 0;
        } else if (X509_verify(x, issuer_pub->pkey) == 1) {
                return 0;
        }
        cr_x509_name_line(X509_get_subject_name(x), subj, sizeof(subj));
        return cr_ossl_err(err, -EBADMSG, "signature of certificate '%s' does not verify with "
                           "the given issuer key", subj);
}

/* ---- chain verification ---- */

int cr_chain_verify(const struct cr_cert *leaf, struct cr_cert *const *untrusted, size_t n_untrusted,
                    struct cr_cert *const *trusted, size_t n_trusted, time_t at,
                    struct rp_err *err)
{
        X509_STORE *store = NULL;
        X509_STORE_CTX *ctx = NULL;
        STACK_OF(X509) *chain = NULL;
        X509_VERIFY_PARAM *vp;
        int r = 0, ok;

        ERR_clear_error();
        if (!leaf)
                return rp_err_set(err, -EINVAL, "no certificate to verify");
        if (n_trusted == 0 || !trusted)
                return rp_err_set(err, -EINVAL, "no trusted root certificates given");
        store = X509_STORE_new();
        ctx = X509_STORE_CTX_new();
        chain = sk_X509_new_null();
        if (!store || !ctx || !chain) {
                r = cr_ossl_err(err, -ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < n_trusted; i++)
                if (X509_STORE_add_cert(store, cr_cert_x509(trusted[i])) != 1) {
                        r = cr_ossl_err(err, -EINVAL, "cannot add trusted certificate #%zu", i);
                        goto out;
                }
        for (size_t i = 0; i < n_untrusted; i++)
                if (!sk_X509_push(chain, cr_cert_x509(untrusted[i]))) {
                        r = cr_ossl_err(err, -ENOMEM, "out of memory");
                        goto out;
                }
        if (X509_STORE_CTX_init(ctx, store, cr_cert_x509(leaf), chain) != 1) {
                r = cr_ossl_err(err, -EIO, "cannot set up chain verification");
                goto out;
        }
        vp = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
        if (at != 0)
                X509_VERIFY_PARAM_set_time(vp, at);
        ok = X509_verify_cert(ctx);
        if (ok != 1) {
                int e = X509_STORE_CTX_get_error(ctx);
                int depth = X509_STORE_CTX_get_error_depth(ctx);
                X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
                char subj[128];

                cr_x509_name_line(X509_get_subject_name(bad ? bad : cr_cert_x509(leaf)), subj,
                                  sizeof(subj));
                ERR_clear_error();
                r = rp_err_set(err, -EBADMSG, "certificate '%s' (chain depth %d): %s", subj,
                               depth, X509_verify_cert_error_string(e));
        }
out:
        sk_X509_free(chain);
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        return r;
}
