/* csr.c - PKCS#10 certificate signing requests: build (CN + key, signed
 * with the key itself) and parse. Parsing proves possession: a CSR whose
 * self-signature does not verify, that is not signed with ECDSA/SHA-256, or
 * that carries anything but a P-256 key is refused. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto_int.h"

#define CR_CSR_CN_MAX 64

int cr_csr_new(const struct cr_key *key, const char *cn, struct cr_csr **ret,
               struct rp_err *err)
{
        X509_REQ *req;
        X509_NAME *name;

        ERR_clear_error();
        if (!key || !key->priv)
                return rp_err_set(err, -EINVAL, "a CSR needs the private key it requests for");
        if (!cn || !*cn || strlen(cn) > CR_CSR_CN_MAX)
                return rp_err_set(err, -EINVAL, "CSR CN must be 1..%d bytes", CR_CSR_CN_MAX);
        req = X509_REQ_new();
        if (!req)
                return cr_ossl_err(err, -ENOMEM, "out of memory");
        name = X509_REQ_get_subject_name(req);
        if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
            X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                       (const unsigned char *)cn, -1, -1, 0) != 1 ||
            X509_REQ_set_pubkey(req, key->pkey) != 1 ||
            X509_REQ_sign(req, key->pkey, EVP_sha256()) <= 0) {
                X509_REQ_free(req);
                return cr_ossl_err(err, -EIO, "cannot build CSR for '%s'", cn);
        }
        *ret = cr_csr_wrap(req);
        return 0;
}

static bool looks_like_pem(const uint8_t *p, size_t len)
{
        size_t i = 0;
        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
                i++;
        return len - i >= 10 && memcmp(p + i, "-----BEGIN", 10) == 0;
}

/* The DER of the first element inside the SEQUENCE `der`: the signed part
 * of a certificate or CSR, exactly as it was received (OpenSSL re-encodes a
 * parsed object from the bytes it cached at parse time). */
static int signed_part(const uint8_t *der, size_t len, const uint8_t **ret, size_t *ret_len)
{
        const unsigned char *p = der, *inner;
        long n = 0;
        int tag, cls;

        if (ASN1_get_object(&p, &n, &tag, &cls, (long)len) != V_ASN1_CONSTRUCTED ||
            tag != V_ASN1_SEQUENCE)
                return -EBADMSG;
        inner = p;
        if (ASN1_get_object(&p, &n, &tag, &cls, (long)(len - (size_t)(inner - der))) !=
                    V_ASN1_CONSTRUCTED ||
            tag != V_ASN1_SEQUENCE)
                return -EBADMSG;
        *ret = inner;
        *ret_len = (size_t)(p - inner) + (size_t)n;
        return 0;
}

int cr_signed_part_verify(const uint8_t *der, size_t len, const ASN1_BIT_STRING *sig,
                          const struct cr_key *pub, struct rp_err *err)
{
        const uint8_t *tbs = NULL;
        size_t tbs_len = 0;

        /* as OpenSSL's ASN1_item_verify: a signature BIT STRING has no
         * unused bits */
        if (!sig || (sig->flags & 0x07))
                return rp_err_set(err, -EBADMSG, "signature BIT STRING has unused bits");
        if (signed_part(der, len, &tbs, &tbs_len) < 0)
                return rp_err_set(err, -EBADMSG, "signed part cannot be found");
        return cr_verify(pub, tbs, tbs_len, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
                         err);
}

int cr_csr_parse(const void *data, size_t len, struct cr_csr **ret, struct rp_err *err)
{
        X509_REQ *req;
        struct cr_key *pub = NULL;
        const ASN1_BIT_STRING *sig = NULL;
        uint8_t *der = NULL;
        int r, nid, der_len;

        ERR_clear_error();
        if (!data || len == 0)
                return rp_err_set(err, -EINVAL, "empty CSR");
        if (len > CR_MAX_PEM)
                return rp_err_set(err, -EFBIG, "CSR of %zu bytes exceeds the limit of %d", len,
                                  CR_MAX_PEM);
        if (looks_like_pem(data, len)) {
                BIO *bio = BIO_new_mem_buf(data, (int)len);
                if (!bio)
                        return cr_ossl_err(err, -ENOMEM, "cannot allocate BIO");
                req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
                BIO_free(bio);
                if (!req)
                        return cr_ossl_err(err, -EINVAL, "cannot parse PEM CSR");
        } else {
                const unsigned char *p = data;
                OSSL_LIB_CTX *kl = cr_keyless_libctx();
                /* parsed in the keyless context, the key is read below
                 * without the provider decoder */
                ERR_set_mark();
                req = kl ? (X509_REQ *)ASN1_item_d2i_ex(NULL, &p, (long)len,
                                                        ASN1_ITEM_rptr(X509_REQ), kl, NULL)
                         : d2i_X509_REQ(NULL, &p, (long)len);
                if (!req) {
                        ERR_clear_last_mark();
                        return cr_ossl_err(err, -EINVAL, "cannot parse DER CSR");
                }
                ERR_pop_to_mark();
                if ((size_t)(p - (const unsigned char *)data) != len) {
                        X509_REQ_free(req);
                        return rp_err_set(err, -EINVAL, "DER CSR has %zu trailing bytes",
                                          len - (size_t)(p - (const unsigned char *)data));
                }
        }
        r = cr_key_from_spki(X509_REQ_get_X509_PUBKEY(req), &pub, err);
        if (r < 0) {
                X509_REQ_free(req);
                return rp_err_prefix(err, "CSR");
        }
        nid = X509_REQ_get_signature_nid(req);
        if (nid != NID_ecdsa_with_SHA256) {
                X509_REQ_free(req);
                cr_key_free(pub);
                return rp_err_set(err, -EINVAL, "CSR is signed with %s, only ecdsa-with-SHA256 "
                                  "is accepted", nid == NID_undef ? "an unknown algorithm" :
                                  OBJ_nid2sn(nid));
        }
        /* proof of possession: the self-signature over the request info as
         * received, with the request's own key */
        X509_REQ_get0_signature(req, &sig, NULL);
        der_len = i2d_X509_REQ(req, &der);
        r = der_len > 0 ? cr_signed_part_verify(der, (size_t)der_len, sig, pub, err) : -EIO;
        OPENSSL_free(der);
        cr_key_free(pub);
        if (r < 0) {
                X509_REQ_free(req);
                return cr_ossl_err(err, -EBADMSG, "CSR self-signature does not verify (no "
                                   "proof of possession of its key)");
        }
        ERR_clear_error();
        *ret = cr_csr_wrap(req);
        return 0;
}

int cr_csr_to_der(const struct cr_csr *c, uint8_t **ret_der, size_t *ret_len)
{
        unsigned char *p;
        uint8_t *buf;
        int n = i2d_X509_REQ(cr_csr_req(c), NULL);

        if (n <= 0)
                return -EIO;
        buf = malloc((size_t)n);
        if (!buf)
                return -ENOMEM;
        p = buf;
        if (i2d_X509_REQ(cr_csr_req(c), &p) != n) {
                free(buf);
                return -EIO;
        }
        *ret_der = buf;
        *ret_len = (size_t)n;
        return 0;
}

static int write_csr(BIO *b, const void *c)
{
        return PEM_write_bio_X509_REQ(b, cr_csr_req(c));
}

int cr_csr_to_pem(const struct cr_csr *c, char **ret_pem, struct rp_err *err)
{
        return cr_pem_string(write_csr, c, ret_pem, err, "CSR");
}

int cr_csr_pubkey(const struct cr_csr *c, struct cr_key **ret)
{
        int r = cr_key_from_spki(X509_REQ_get_X509_PUBKEY(cr_csr_req(c)), ret, NULL);

        ERR_clear_error();
        return r;
}

void cr_csr_free(struct cr_csr *c)
{
        X509_REQ_free(cr_csr_req(c));
}
