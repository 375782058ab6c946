/* monitor_key.c - see monitor_key.h.
 *
 * OpenSSL 3 still honours an EC_KEY_METHOD on a legacy EC_KEY: such a key is
 * "foreign" to the providers, so every signature with it (including the
 * TLS 1.3 CertificateVerify) goes through ECDSA_sign and thus through the
 * method's sign hook. The EC_KEY API is deprecated in 3.0 but present;
 * the deprecation warnings are silenced for this file only. */
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto_int.h"
#include "crypto/monitor_key.h"
#include "lib/cleanup.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* What the EC_KEY carries in its ex_data; freed with the EC_KEY. */
struct remote {
        cr_remote_sign_fn sign;
        void *userdata;
        unsigned long good;     /* signatures that verified */
};

struct cr_monitor_key {
        X509 *cert;
        EVP_PKEY *pkey;         /* legacy EC key with our method */
        struct remote *remote;  /* borrowed from pkey's EC_KEY */
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EC_KEY_METHOD *method;
static int ex_index = -1;

static void remote_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                        void *argp)
{
        free(ptr);
}

static struct remote *remote_of(const EC_KEY *ec)
{
        return ex_index < 0 ? NULL : EC_KEY_get_ex_data(ec, ex_index);
}

/* Asks the callback and checks the result against the public key. Returns
 * a new ECDSA_SIG or NULL (with an OpenSSL error queued). */
static ECDSA_SIG *remote_sign(const unsigned char *dgst, int dlen, EC_KEY *ec)
{
        struct remote *rm = remote_of(ec);
        uint8_t *der = NULL;
        size_t len = 0;
        const unsigned char *p;
        ECDSA_SIG *sig;

        if (!rm || dlen != CR_SHA256_LEN) {
                ERR_raise_data(ERR_LIB_EC, EC_R_INVALID_DIGEST,
                               "remote key signs only SHA-256 digests (got %d bytes)", dlen);
                return NULL;
        }
        if (rm->sign(rm->userdata, dgst, &der, &len) < 0 || !der) {
                free(der);
                ERR_raise_data(ERR_LIB_EC, ERR_R_OPERATION_FAIL, "remote key: the signer refused");
                return NULL;
        }
        p = der;
        sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
        if (!sig || p != der + len) {
                ECDSA_SIG_free(sig);
                free(der);
                ERR_raise_data(ERR_LIB_EC, EC_R_BAD_SIGNATURE,
                               "remote key: the signer returned no DER ECDSA signature");
                return NULL;
        }
        free(der);
        /* The default verify (the method inherits it) with the public key. */
        if (ECDSA_do_verify(dgst, dlen, sig, ec) != 1) {
                ECDSA_SIG_free(sig);
                ERR_raise_data(ERR_LIB_EC, EC_R_BAD_SIGNATURE,
                               "remote key: the signature does not verify with the "
                               "certificate's key (stale key handle?)");
                return NULL;
        }
        rm->good++;
        return sig;
}

static int method_sign(int type, const unsigned char *dgst, int dlen, unsigned char *out,
                       unsigned int *outlen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
        ECDSA_SIG *sig = remote_sign(dgst, dlen, ec);
        unsigned char *p = out;
        int n, max = ECDSA_size(ec);

        if (!sig)
                return 0;
        n = i2d_ECDSA_SIG(sig, NULL);
        if (n <= 0 || n > max) {
                ECDSA_SIG_free(sig);
                return 0;
        }
        n = i2d_ECDSA_SIG(sig, &p);
        ECDSA_SIG_free(sig);
        *outlen = (unsigned int)n;
        return 1;
}

static int method_sign_setup(EC_KEY *ec, BN_CTX *ctx, BIGNUM **kinv, BIGNUM **r)
{
        return 1;       /* nothing to precompute: the nonce is made remotely */
}

static ECDSA_SIG *method_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
                                  const BIGNUM *r, EC_KEY *ec)
{
        return remote_sign(dgst, dlen, ec);
}

static void init_method(void)
{
        EC_KEY_METHOD *m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
        if (!m)
                return;
        EC_KEY_METHOD_set_sign(m, method_sign, method_sign_setup, method_sign_sig);
        ex_index = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, remote_free);
        if (ex_index < 0) {
                EC_KEY_METHOD_free(m);
                return;
        }
        method = m;
}

int cr_monitor_key_new(struct cr_cert *cert, cr_remote_sign_fn sign, void *userdata,
                       struct cr_monitor_key **ret, struct rp_err *err)
{
        X509 *x = cr_cert_x509(cert);
        EVP_PKEY *pub = X509_get0_pubkey(x);
        struct cr_monitor_key *k = NULL;
        struct remote *rm = NULL;
        EC_KEY *ec = NULL;
        int r;

        if (!pub)
                return cr_ossl_err(err, -EINVAL, "certificate has no usable public key");
        r = cr_pkey_check_p256(pub, err);
        if (r < 0)
                return rp_err_prefix(err, "remote TLS key");
        pthread_once(&once, init_method);
        if (!method)
                return cr_ossl_err(err, -ENOMEM, "cannot set up the remote-key method");
        k = calloc(1, sizeof(*k));
        rm = calloc(1, sizeof(*rm));
        if (!k || !rm)
                goto oom;
        rm->sign = sign;
        rm->userdata = userdata;
        ec = EVP_PKEY_get1_EC_KEY(pub);
        if (!ec)
                goto oom;
        if (!EC_KEY_set_method(ec, method) || !EC_KEY_set_ex_data(ec, ex_index, rm))
                goto oom;
        k->remote = steal_ptr(rm);      /* the EC_KEY owns it from here */
        k->pkey = EVP_PKEY_new();
        if (!k->pkey || !EVP_PKEY_assign_EC_KEY(k->pkey, ec))
                goto oom;
        ec = NULL;
        if (!X509_up_ref(x))
                goto oom;
        k->cert = x;
        *ret = k;
        return 0;
oom:
        EC_KEY_free(ec);
        free(rm);
        cr_monitor_key_free(k);
        return cr_ossl_err(err, -ENOMEM, "cannot build the remote TLS key");
}

void cr_monitor_key_free(struct cr_monitor_key *k)
{
        if (!k)
                return;
        EVP_PKEY_free(k->pkey);
        X509_free(k->cert);
        free(k);
}

int cr_monitor_key_use(struct cr_monitor_key *k, SSL_CTX *ctx, struct rp_err *err)
{
        if (SSL_CTX_use_certificate(ctx, k->cert) != 1)
                return cr_ossl_err(err, -EINVAL, "TLS: installing the client certificate");
        if (SSL_CTX_use_PrivateKey(ctx, k->pkey) != 1)
                return cr_ossl_err(err, -EINVAL, "TLS: installing the remote client key");
        if (SSL_CTX_check_private_key(ctx) != 1)
                return cr_ossl_err(err, -EINVAL, "TLS: remote key does not match the certificate");
        if (SSL_CTX_set1_client_sigalgs_list(ctx, "ECDSA+SHA256") != 1)
                return cr_ossl_err(err, -EINVAL, "TLS: restricting client signature algorithms");
        return 0;
}

unsigned long cr_monitor_key_signatures(const struct cr_monitor_key *k)
{
        return k->remote ? k->remote->good : 0;
}

#pragma GCC diagnostic pop
