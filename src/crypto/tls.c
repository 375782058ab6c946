/* tls.c - TLS server contexts for rampart-server: TLS 1.3 only, the server's
 * P-256 certificate, optional client-certificate request (verified by the
 * route, not here), first-start self-signed certificate and the
 * fingerprints an operator pins. */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "crypto/crypto_int.h"
#include "crypto/tls.h"
#include "lib/fileio.h"

static const unsigned char sid_ctx[] = "rampart-server";

/* The chain is checked by the route against the tenant's CA (which the TLS
 * layer does not know); here any certificate, or none, is accepted. */
static int accept_any_client_cert(int ok, X509_STORE_CTX *x)
{
        (void)ok;
        (void)x;
        return 1;
}

int cr_tls_server_ctx(const struct cr_tls_server_opts *o, SSL_CTX **ret, struct rp_err *err)
{
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx)
                return cr_ossl_err(err, -ENOMEM, "TLS: creating context");
        if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
            !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
                SSL_CTX_free(ctx);
                return cr_ossl_err(err, -EIO, "TLS: restricting to TLS 1.3");
        }
        SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256")) {
                SSL_CTX_free(ctx);
                return cr_ossl_err(err, -EIO, "TLS: setting key exchange groups");
        }
        if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
                SSL_CTX_free(ctx);
                return cr_ossl_err(err, -EINVAL, "TLS: loading certificate '%s'", o->cert_file);
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1) {
                SSL_CTX_free(ctx);
                return cr_ossl_err(err, -EINVAL, "TLS: loading key '%s'", o->key_file);
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
                SSL_CTX_free(ctx);
                return cr_ossl_err(err, -EINVAL, "TLS: key '%s' does not match certificate '%s'",
                                   o->key_file, o->cert_file);
        }
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
        if (o->request_client_cert)
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_client_cert);
        /* No session tickets: every client of this server (rampartd, the
         * agent's downloads, the CLI) makes each request with a fresh libcurl
         * handle whose session cache dies with it, so a ticket is never
         * presented, and issuing OpenSSL's default two cost every
         * connection two ticket encryptions and two more records. Without
         * tickets there is no resumption: every connection is a full
         * handshake with the certificate and, when requested, the client's
         * certificate. The server-side session cache is then unused too. */
        if (!SSL_CTX_set_num_tickets(ctx, 0)) {
                SSL_CTX_free(ctx);
                return cr_ossl_err(err, -EIO, "TLS: disabling session tickets");
        }
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        /* An idle keep-alive connection holds no read/write buffers; the
         * allocation around each record costs well under 1 % of a
         * connection's instructions. */
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
        *ret = ctx;
        return 0;
}

void cr_tls_ctx_free(SSL_CTX *ctx)
{
        SSL_CTX_free(ctx);
}

SSL *cr_tls_new_ssl(SSL_CTX *ctx)
{
        return SSL_new(ctx);
}

int cr_tls_peer_cert(SSL *ssl, struct cr_cert **ret)
{
        X509 *x = SSL_get1_peer_certificate(ssl);
        if (!x)
                return -ENOENT;
        *ret = cr_cert_wrap(x);
        return 0;
}

uint64_t cr_tls_bytes_read(SSL *ssl)
{
        BIO *b = SSL_get_rbio(ssl);
        return b ? BIO_number_read(b) : 0;
}

static int app_idx = -1;
static void (*app_on_free)(void *ptr);

static void app_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
        (void)parent;
        (void)ad;
        (void)idx;
        (void)argl;
        (void)argp;
        if (ptr && app_on_free)
                app_on_free(ptr);
}

int cr_tls_app_data_init(void (*on_free)(void *ptr))
{
        if (app_idx >= 0) {
                app_on_free = on_free;
                return 0;
        }
        app_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, app_free);
        if (app_idx < 0)
                return -ENOMEM;
        app_on_free = on_free;
        return 0;
}

void cr_tls_set_app_data(SSL *ssl, void *ptr)
{
        SSL_set_ex_data(ssl, app_idx, ptr);
}

void *cr_tls_get_app_data(SSL *ssl)
{
        return ssl && app_idx >= 0 ? SSL_get_ex_data(ssl, app_idx) : NULL;
}

static int add_ext(X509 *x, int nid, const char *value, struct rp_err *err)
{
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
        if (!e)
                return cr_ossl_err(err, -EIO, "TLS: building extension '%s'", value);
        int ok = X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        return ok ? 0 : cr_ossl_err(err, -EIO, "TLS: adding extension '%s'", value);
}

static int pem_out(BIO *b, char **ret, size_t *ret_len)
{
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if (n <= 0)
                return -EIO;
        char *c = malloc((size_t)n + 1);
        if (!c)
                return -ENOMEM;
        memcpy(c, p, (size_t)n);
        c[n] = 0;
        *ret = c;
        *ret_len = (size_t)n;
        return 0;
}

int cr_tls_make_self_signed(const char *cert_file, const char *key_file, int days,
                            struct rp_err *err)
{
        int r = -EIO;
        EVP_PKEY *pk = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
        char *kpem = NULL, *cpem = NULL;
        size_t klen = 0, clen = 0;
        uint8_t serial[16];

        if (!pk || !x || !kb || !cb) {
                r = cr_ossl_err(err, -ENOMEM, "TLS: generating server key");
                goto out;
        }
        if (cr_random(serial, sizeof(serial)) < 0) {
                r = rp_err_set(err, -EIO, "TLS: no randomness for the serial");
                goto out;
        }
        serial[0] &= 0x7f;
        BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
                BN_free(bn);
                r = cr_ossl_err(err, -EIO, "TLS: setting serial");
                goto out;
        }
        BN_free(bn);
        X509_NAME *name = X509_get_subject_name(x);
        if (!X509_set_version(x, 2) ||
            !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                        (const unsigned char *)"rampart-server", -1, -1, 0) ||
            !X509_set_issuer_name(x, name) || !X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) || !X509_set_pubkey(x, pk)) {
                r = cr_ossl_err(err, -EIO, "TLS: filling server certificate");
                goto out;
        }
        if ((r = add_ext(x, NID_basic_constraints, "critical,CA:FALSE", err)) < 0 ||
            (r = add_ext(x, NID_key_usage, "critical,digitalSignature", err)) < 0 ||
            (r = add_ext(x, NID_ext_key_usage, "serverAuth", err)) < 0 ||
            (r = add_ext(x, NID_subject_key_identifier, "hash", err)) < 0 ||
            (r = add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1", err)) < 0)
                goto out;
        if (!X509_sign(x, pk, EVP_sha256())) {
                r = cr_ossl_err(err, -EIO, "TLS: signing server certificate");
                goto out;
        }
        if (!PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL) ||
            !PEM_write_bio_X509(cb, x) || pem_out(kb, &kpem, &klen) < 0 ||
            pem_out(cb, &cpem, &clen) < 0) {
                r = cr_ossl_err(err, -EIO, "TLS: encoding server key/certificate");
                goto out;
        }
        r = rp_write_file_atomic(key_file, kpem, klen, 0600, err);
        if (r == 0)
                r = rp_write_file_atomic(cert_file, cpem, clen, 0644, err);
out:
        if (kpem) {
                cr_wipe(kpem, klen);
                free(kpem);
        }
        free(cpem);
        BIO_free(kb);
        BIO_free(cb);
        X509_free(x);
        EVP_PKEY_free(pk);
        return r;
}

int cr_tls_cert_fingerprints(const char *cert_file, char fpr[CR_TLS_FPR_LEN],
                             char pin[CR_TLS_PIN_LEN], struct rp_err *err)
{
        int r = -EIO;
        BIO *b = BIO_new_file(cert_file, "r");
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        unsigned char *spki = NULL;

        if (!x) {
                r = cr_ossl_err(err, -EINVAL, "TLS: reading certificate '%s'", cert_file);
                goto out;
        }
        if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32) {
                r = cr_ossl_err(err, -EIO, "TLS: hashing certificate");
                goto out;
        }
        for (unsigned i = 0; i < mdlen; i++)
                snprintf(fpr + 3 * i, CR_TLS_FPR_LEN - 3 * i, i + 1 < mdlen ? "%02X:" : "%02X",
                         md[i]);
        int n = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
        if (n <= 0) {
                r = cr_ossl_err(err, -EIO, "TLS: encoding public key");
                goto out;
        }
        uint8_t h[32];
        cr_sha256(spki, (size_t)n, h);
        memcpy(pin, "sha256//", 8);
        EVP_EncodeBlock((unsigned char *)pin + 8, h, sizeof(h));   /* 44 chars + NUL */
        r = 0;
out:
        OPENSSL_free(spki);
        X509_free(x);
        BIO_free(b);
        return r;
}
