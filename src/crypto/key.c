/* key.c - P-256 key handles: generation, deterministic derivation from a
 * seed, PEM/DER/raw import and export, key ids and JWK thumbprints.
 *
 * Every key that enters through here is checked: EC on the named curve P-256
 * only (no explicit parameters), public points must be valid curve points
 * (OpenSSL's quick public key check, complete for a cofactor-1 curve), and
 * private keys must match their public half (pairwise check), so a
 * corrupted key file cannot produce unverifiable signatures. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto_int.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"

#define P256_NAME "prime256v1"

/* Info label of the seed -> scalar expansion; part of the key derivation, so
 * it never changes (see cr_key_from_seed in crypto.h). */
static const char seed_info[] = "rampart p256 scalar";

int cr_pkey_check_p256(EVP_PKEY *pkey, struct rp_err *err)
{
        char grp[64];
        size_t l = 0;

        if (!EVP_PKEY_is_a(pkey, "EC")) {
                const char *t = EVP_PKEY_get0_type_name(pkey);
                return rp_err_set(err, -EINVAL, "key type is %s, only EC P-256 is accepted",
                                  t ? t : "unknown");
        }
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp),
                                           &l) != 1) {
                ERR_clear_error();
                return rp_err_set(err, -EINVAL,
                                  "EC key has no named curve (explicit parameters are refused); "
                                  "only P-256 is accepted");
        }
        if (strcmp(grp, P256_NAME) != 0 && strcmp(grp, "P-256") != 0)
                return rp_err_set(err, -EINVAL, "EC key is on curve %s, only P-256 is accepted",
                                  grp);
        /* OpenSSL maps explicit parameters that equal a named curve onto
         * its name; refuse the explicit encoding anyway (the form that
         * curve-substitution attacks use). */
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, grp, sizeof(grp),
                                           &l) == 1 &&
            strcmp(grp, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
                return rp_err_set(err, -EINVAL,
                                  "EC key uses %s curve parameters, only the named curve P-256 "
                                  "is accepted", grp);
        ERR_clear_error();
        return 0;
}

static int pub_from_point(const uint8_t *pt, size_t len, struct cr_key **ret,
                          struct rp_err *err);

/* A legacy (EC_KEY-backed) public key, such as the subject key that
 * certificates built by x509.c carry: handles hold provider keys only, so it
 * is imported again from its encoded point (and checked on that way in).
 * Takes ownership of `pkey` on success only, like cr_key_wrap. */
static int wrap_legacy_pub(EVP_PKEY *pkey, struct cr_key **ret, struct rp_err *err)
{
        unsigned char *pt = NULL;
        size_t n = EVP_PKEY_get1_encoded_public_key(pkey, &pt);
        int r;

        if (n == 0 || n > CR_P256_PUB_LEN) {
                OPENSSL_free(pt);
                return cr_ossl_err(err, -EINVAL, "cannot read the P-256 public point");
        }
        r = pub_from_point(pt, n, ret, err);
        OPENSSL_free(pt);
        if (r == 0)
                EVP_PKEY_free(pkey);
        return r;
}

int cr_key_wrap(EVP_PKEY *pkey, bool priv, struct cr_key **ret, struct rp_err *err)
{
        EVP_PKEY_CTX *pc = NULL;
        struct cr_key *k;
        int r, ok;

        r = cr_pkey_check_p256(pkey, err);
        if (r < 0)
                return r;
        if (!priv && !EVP_PKEY_get0_provider(pkey))
                return wrap_legacy_pub(pkey, ret, err);
        pc = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!pc)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate key context");
        /* A public key: coordinates in range, on the curve, not the point
         * at infinity (the quick check). P-256 has cofactor 1, so every such
         * point has order n; the full check's extra n*Q == O test costs a
         * scalar multiplication per key and proves nothing more. */
        ok = priv ? EVP_PKEY_pairwise_check(pc) : EVP_PKEY_public_check_quick(pc);
        if (ok != 1) {
                EVP_PKEY_CTX_free(pc);
                if (priv)
                        return cr_ossl_err(err, -EINVAL,
                                           "P-256 private key does not match its public key");
                return cr_ossl_err(err, -EINVAL, "P-256 public key is not a valid curve point");
        }
        EVP_PKEY_CTX_free(pc);
        k = calloc(1, sizeof(*k));
        if (!k)
                return rp_err_set(err, -ENOMEM, "out of memory");
        k->pkey = pkey;
        k->priv = priv;
        *ret = k;
        return 0;
}

void cr_key_free(struct cr_key *k)
{
        if (!k)
                return;
        EVP_PKEY_free(k->pkey);   /* the EC key manager clears the scalar */
        free(k);
}

bool cr_key_is_private(const struct cr_key *k)
{
        return k && k->priv;
}

int cr_key_generate(struct cr_key **ret, struct rp_err *err)
{
        EVP_PKEY *pkey;
        int r;

        ERR_clear_error();
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (!pkey)
                return cr_ossl_err(err, -EIO, "P-256 key generation failed");
        r = cr_key_wrap(pkey, true, ret, err);
        if (r < 0)
                EVP_PKEY_free(pkey);
        return r;
}

/* Builds an EVP_PKEY from OSSL_PARAMs (group + pub [+ priv]). */
static int key_from_params(OSSL_PARAM *params, bool priv, struct cr_key **ret,
                           struct rp_err *err)
{
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        EVP_PKEY *pkey = NULL;
        int r;

        if (!pc)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate EC key context");
        if (EVP_PKEY_fromdata_init(pc) != 1 ||
            EVP_PKEY_fromdata(pc, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                              params) != 1) {
                EVP_PKEY_CTX_free(pc);
                return cr_ossl_err(err, -EINVAL, "cannot import P-256 %s key",
                                   priv ? "private" : "public");
        }
        EVP_PKEY_CTX_free(pc);
        r = cr_key_wrap(pkey, priv, ret, err);
        if (r < 0)
                EVP_PKEY_free(pkey);
        return r;
}

/* A public-only P-256 key (the generator as its point) to copy: duplicating
 * it and setting another point costs a quarter of an import from
 * parameters, which builds the curve group from its name every time. */
static EVP_PKEY *pub_template;

static void pub_template_init(void)
{
        static const uint8_t g[CR_P256_PUB_LEN] = {
                0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
                0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
                0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
                0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
                0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        EVP_PKEY *pkey = NULL;
        OSSL_PARAM params[3];

        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                     (char *)P256_NAME, 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)g,
                                                      sizeof(g));
        params[2] = OSSL_PARAM_construct_end();
        if (pc && EVP_PKEY_fromdata_init(pc) == 1 &&
            EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1)
                pub_template = pkey;
        EVP_PKEY_CTX_free(pc);
        ERR_clear_error();
}

/* A public key from an encoded point (uncompressed or compressed), checked
 * on the way in: the point must decode onto the curve, then cr_key_wrap. */
static int pub_from_point(const uint8_t *pt, size_t len, struct cr_key **ret,
                          struct rp_err *err)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        OSSL_PARAM params[3];
        EVP_PKEY *pkey;
        int r;

        pthread_once(&once, pub_template_init);
        if (!pub_template) {
                params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                             (char *)P256_NAME, 0);
                params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                              (void *)pt, len);
                params[2] = OSSL_PARAM_construct_end();
                return key_from_params(params, false, ret, err);
        }
        ERR_clear_error();
        pkey = EVP_PKEY_dup(pub_template);
        if (!pkey)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate a P-256 key");
        if (EVP_PKEY_set1_encoded_public_key(pkey, pt, len) != 1) {
                EVP_PKEY_free(pkey);
                return cr_ossl_err(err, -EINVAL, "cannot import P-256 public key");
        }
        r = cr_key_wrap(pkey, false, ret, err);
        if (r < 0)
                EVP_PKEY_free(pkey);
        return r;
}

int cr_key_from_seed(const uint8_t seed[32], struct cr_key **ret, struct rp_err *err)
{
        uint8_t okm[64], d_native[CR_P256_SCALAR_LEN], pub[CR_P256_PUB_LEN];
        BN_CTX *bnctx = NULL;
        EC_GROUP *group = NULL;
        EC_POINT *point = NULL;
        BIGNUM *x = NULL, *d = NULL, *nm1 = NULL;
        OSSL_PARAM params[4];
        int r;

        ERR_clear_error();
        r = cr_hkdf_sha512(NULL, 0, seed, 32, (const uint8_t *)seed_info, strlen(seed_info), okm,
                           sizeof(okm));
        if (r < 0) {
                r = cr_ossl_err(err, r, "seed expansion (HKDF-SHA-512) failed");
                goto out;
        }
        bnctx = BN_CTX_secure_new();
        group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, NID_X9_62_prime256v1);
        x = BN_secure_new();
        d = BN_secure_new();
        if (!bnctx || !group || !x || !d) {
                r = cr_ossl_err(err, -ENOMEM, "cannot allocate P-256 derivation state");
                goto out;
        }
        BN_set_flags(x, BN_FLG_CONSTTIME);
        BN_set_flags(d, BN_FLG_CONSTTIME);
        /* d = (OKM mod (n - 1)) + 1: always in [1, n-1]; the 512-bit OKM
         * makes the bias of the reduction negligible (2^-256). */
        nm1 = BN_dup(EC_GROUP_get0_order(group));
        if (!nm1 || !BN_sub_word(nm1, 1) || !BN_bin2bn(okm, sizeof(okm), x) ||
            !BN_mod(d, x, nm1, bnctx) || !BN_add_word(d, 1)) {
                r = cr_ossl_err(err, -EIO, "P-256 scalar reduction failed");
                goto out;
        }
        /* OpenSSL 3.0 does not derive the public point when a private scalar
         * is imported, so compute pub = d*G here and import both. */
        point = EC_POINT_new(group);
        if (!point || EC_POINT_mul(group, point, d, NULL, NULL, bnctx) != 1 ||
            EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub),
                               bnctx) != sizeof(pub)) {
                r = cr_ossl_err(err, -EIO, "P-256 public point computation failed");
                goto out;
        }
        if (BN_bn2nativepad(d, d_native, sizeof(d_native)) != (int)sizeof(d_native)) {
                r = cr_ossl_err(err, -EIO, "P-256 scalar encoding failed");
                goto out;
        }
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                     (char *)P256_NAME, 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
        params[2] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, d_native, sizeof(d_native));
        params[3] = OSSL_PARAM_construct_end();
        r = key_from_params(params, true, ret, err);
out:
        cr_wipe(okm, sizeof(okm));
        cr_wipe(d_native, sizeof(d_native));
        EC_POINT_free(point);
        BN_free(nm1);
        BN_clear_free(x);
        BN_clear_free(d);
        EC_GROUP_free(group);
        BN_CTX_free(bnctx);
        return r;
}

/* Never prompt on a terminal for a pass phrase. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
        (void)buf;
        (void)size;
        (void)rwflag;
        (void)u;
        return -1;
}

int cr_key_from_pem(const void *pem, size_t len, struct cr_key **ret, struct rp_err *err)
{
        BIO *bio;
        EVP_PKEY *pkey;
        bool priv;
        int r;

        ERR_clear_error();
        if (!pem || len == 0)
                return rp_err_set(err, -EINVAL, "empty PEM key");
        if (len > CR_MAX_PEM)
                return rp_err_set(err, -EFBIG, "PEM key of %zu bytes exceeds the limit of %d",
                                  len, CR_MAX_PEM);
        if (memmem(pem, len, "ENCRYPTED", 9))
                return rp_err_set(err, -EINVAL, "encrypted private keys are not supported");
        priv = memmem(pem, len, "PRIVATE KEY-----", 16) != NULL;
        if (!priv && !memmem(pem, len, "-----BEGIN PUBLIC KEY-----", 26))
                return rp_err_set(err, -EINVAL,
                                  "not a PEM key: expected a 'PRIVATE KEY', 'EC PRIVATE KEY' or "
                                  "'PUBLIC KEY' block");
        bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate BIO");
        if (priv)
                pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_password, NULL, NULL, NULL);
        else
                pkey = PEM_read_bio_PUBKEY_ex(bio, NULL, no_password, NULL, NULL, NULL);
        BIO_free(bio);
        if (!pkey)
                return cr_ossl_err(err, -EINVAL, "cannot parse PEM %s key",
                                   priv ? "private" : "public");
        r = cr_key_wrap(pkey, priv, ret, err);
        if (r < 0)
                EVP_PKEY_free(pkey);
        return r;
}

int cr_key_to_pem(const struct cr_key *k, bool private_part, char **ret_pem, struct rp_err *err)
{
        BIO *bio;
        char *data = NULL, *out;
        long n;
        int ok;

        ERR_clear_error();
        if (private_part && !k->priv)
                return rp_err_set(err, -EINVAL, "key has no private part to export");
        /* secure-memory BIO: its buffer is cleansed when freed */
        bio = BIO_new(private_part ? BIO_s_secmem() : BIO_s_mem());
        if (!bio)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate BIO");
        if (private_part)
                ok = PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL);
        else
                ok = PEM_write_bio_PUBKEY(bio, k->pkey);
        n = BIO_get_mem_data(bio, &data);
        if (ok != 1 || n <= 0) {
                BIO_free(bio);
                return cr_ossl_err(err, -EIO, "cannot encode %s key as PEM",
                                   private_part ? "private" : "public");
        }
        out = malloc((size_t)n + 1);
        if (!out) {
                cr_wipe(data, (size_t)n);
                BIO_free(bio);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        cr_wipe(data, (size_t)n);
        BIO_free(bio);
        *ret_pem = out;
        return 0;
}

int cr_key_save_pem(const char *path, const struct cr_key *k, bool private_part,
                    struct rp_err *err)
{
        char *pem = NULL;
        size_t len;
        int r;

        r = cr_key_to_pem(k, private_part, &pem, err);
        if (r < 0)
                return r;
        len = strlen(pem);
        r = rp_write_file_atomic(path, pem, len, private_part ? 0600 : 0644, err);
        cr_wipe(pem, len);
        free(pem);
        return r;
}

int cr_key_load_pem(const char *path, struct cr_key **ret, struct rp_err *err)
{
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        r = rp_read_file(path, CR_MAX_PEM, &data, &len, err);
        if (r < 0)
                return r;
        r = cr_key_from_pem(data, len, ret, err);
        cr_wipe(data, len);
        free(data);
        if (r < 0)
                return rp_err_prefix(err, "key file '%s'", path);
        return 0;
}

int cr_key_pub_to_der(const struct cr_key *k, uint8_t **ret_der, size_t *ret_len)
{
        unsigned char *p;
        uint8_t *buf;
        int n;

        n = i2d_PUBKEY(k->pkey, NULL);
        if (n <= 0)
                return -EIO;
        buf = malloc((size_t)n);
        if (!buf)
                return -ENOMEM;
        p = buf;
        if (i2d_PUBKEY(k->pkey, &p) != n) {
                free(buf);
                return -EIO;
        }
        *ret_der = buf;
        *ret_len = (size_t)n;
        return 0;
}

int cr_key_pub_from_der(const void *der, size_t len, struct cr_key **ret, struct rp_err *err)
{
        const unsigned char *p = der;
        EVP_PKEY *pkey;
        int r;

        ERR_clear_error();
        if (!der || len == 0)
                return rp_err_set(err, -EINVAL, "empty public key DER");
        if (len > CR_MAX_PEM)
                return rp_err_set(err, -EFBIG, "public key DER of %zu bytes exceeds the limit of %d",
                                  len, CR_MAX_PEM);
        pkey = d2i_PUBKEY_ex(NULL, &p, (long)len, NULL, NULL);
        if (!pkey)
                return cr_ossl_err(err, -EINVAL, "cannot parse SubjectPublicKeyInfo DER");
        if ((size_t)(p - (const unsigned char *)der) != len) {
                EVP_PKEY_free(pkey);
                return rp_err_set(err, -EINVAL,
                                  "SubjectPublicKeyInfo DER has %zu trailing bytes",
                                  len - (size_t)(p - (const unsigned char *)der));
        }
        r = cr_key_wrap(pkey, false, ret, err);
        if (r < 0)
                EVP_PKEY_free(pkey);
        return r;
}

static OSSL_LIB_CTX *keyless_ctx;

static void keyless_init(void)
{
        OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();

        /* an explicitly loaded provider keeps the default one from being
         * loaded into this context on first use */
        if (ctx && !OSSL_PROVIDER_load(ctx, "null")) {
                OSSL_LIB_CTX_free(ctx);
                ctx = NULL;
        }
        ERR_clear_error();
        keyless_ctx = ctx;
}

OSSL_LIB_CTX *cr_keyless_libctx(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        pthread_once(&once, keyless_init);
        return keyless_ctx;
}

int cr_key_from_spki(X509_PUBKEY *xpk, struct cr_key **ret, struct rp_err *err)
{
        ASN1_OBJECT *alg = NULL;
        const unsigned char *pk = NULL;
        int pklen = 0, ptype = 0, r;
        X509_ALGOR *palg = NULL;
        const void *pval = NULL;
        uint8_t *der = NULL;

        ERR_clear_error();
        if (!xpk || X509_PUBKEY_get0_param(&alg, &pk, &pklen, &palg, xpk) != 1)
                return cr_ossl_err(err, -EINVAL, "cannot read the SubjectPublicKeyInfo");
        X509_ALGOR_get0(NULL, &ptype, &pval, palg);
        if (OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey && ptype == V_ASN1_OBJECT &&
            OBJ_obj2nid(pval) == NID_X9_62_prime256v1 && pklen > 0 &&
            pklen <= CR_P256_PUB_LEN) {
                return pub_from_point(pk, (size_t)pklen, ret, err);
        }
        /* anything else is refused; the full decoder names what it is */
        pklen = i2d_X509_PUBKEY(xpk, &der);
        if (pklen <= 0)
                return cr_ossl_err(err, -EINVAL, "cannot encode the SubjectPublicKeyInfo");
        r = cr_key_pub_from_der(der, (size_t)pklen, ret, err);
        OPENSSL_free(der);
        return r;
}

int cr_key_pub_raw(const struct cr_key *k, uint8_t out[CR_P256_PUB_LEN])
{
        uint8_t enc[2 * CR_P256_PUB_LEN];
        BIGNUM *x = NULL, *y = NULL;
        size_t len = 0;
        int r = -EIO;

        /* The encoded point in one parameter read; it is in the key's own
         * conversion form, so a key that arrived compressed falls through
         * to the coordinates. */
        if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, enc, sizeof(enc),
                                            &len) == 1 &&
            len == CR_P256_PUB_LEN && enc[0] == POINT_CONVERSION_UNCOMPRESSED) {
                memcpy(out, enc, CR_P256_PUB_LEN);
                return 0;
        }
        ERR_clear_error();
        if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
            EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
                ERR_clear_error();
                goto out;
        }
        out[0] = POINT_CONVERSION_UNCOMPRESSED;
        if (BN_bn2binpad(x, out + 1, 32) != 32 || BN_bn2binpad(y, out + 33, 32) != 32)
                goto out;
        r = 0;
out:
        BN_free(x);
        BN_free(y);
        return r;
}

int cr_key_pub_from_raw(const uint8_t raw[CR_P256_PUB_LEN], struct cr_key **ret,
                        struct rp_err *err)
{
        ERR_clear_error();
        if (raw[0] != POINT_CONVERSION_UNCOMPRESSED)
                return rp_err_set(err, -EINVAL,
                                  "raw P-256 public key starts with 0x%02x, expected 0x04 "
                                  "(uncompressed point)", raw[0]);
        return pub_from_point(raw, CR_P256_PUB_LEN, ret, err);
}

int cr_key_id(const struct cr_key *k, uint8_t out[CR_KEY_ID_LEN])
{
        uint8_t *der = NULL;
        size_t len;
        int r;

        r = cr_key_pub_to_der(k, &der, &len);
        if (r < 0)
                return r;
        cr_sha256(der, len, out);
        free(der);
        return 0;
}

bool cr_key_pub_equal(const struct cr_key *a, const struct cr_key *b)
{
        if (!a || !b)
                return false;
        return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

int cr_key_jwk_thumbprint(const struct cr_key *k, char out[44])
{
        uint8_t raw[CR_P256_PUB_LEN], digest[CR_SHA256_LEN];
        char x[44], y[44], json[160];
        int r, n;

        r = cr_key_pub_raw(k, raw);
        if (r < 0)
                return r;
        rp_b64url_encode(raw + 1, 32, x);
        rp_b64url_encode(raw + 33, 32, y);
        /* RFC 7638 section 3.2: required members only, lexicographic order,
         * no whitespace. */
        n = snprintf(json, sizeof(json), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                     x, y);
        if (n < 0 || (size_t)n >= sizeof(json))
                return -EIO;
        cr_sha256(json, (size_t)n, digest);
        rp_b64url_encode(digest, sizeof(digest), out);
        return 0;
}
