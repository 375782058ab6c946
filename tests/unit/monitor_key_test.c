/* monitor_key_test.c - a TLS 1.3 handshake whose client key is remote: the
 * client context holds only the certificate and a callback, the server
 * (rampart-server's own context code) must see the client certificate; a
 * callback that signs with another key or refuses makes the handshake fail
 * on the client, before a bad signature is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/monitor_key.h"
#include "crypto/tls.h"
#include "lib/fileio.h"

static char dir[256];
static char srv_cert[300], srv_key[300];

struct remote {
        struct cr_key *key;     /* the "monitor's" key */
        int calls;
        int refuse;
};

static int sign_cb(void *ud, const uint8_t digest[CR_SHA256_LEN], uint8_t **ret, size_t *len)
{
        struct remote *r = ud;
        r->calls++;
        if (r->refuse)
                return -EPERM;
        return cr_sign_digest(r->key, digest, ret, len, NULL);
}

static int setup(void **state)
{
        struct rp_err err = {0};
        strcpy(dir, "/tmp/monkey-test-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        snprintf(srv_cert, sizeof(srv_cert), "%s/server.pem", dir);
        snprintf(srv_key, sizeof(srv_key), "%s/server.key", dir);
        return cr_tls_make_self_signed(srv_cert, srv_key, 1, &err);
}

static int teardown(void **state)
{
        return rp_rm_rf(dir);
}

static struct cr_cert *client_cert(struct cr_key *k)
{
        struct cr_cert_spec spec = {
                .cn = "0123456789abcdef0123456789abcdef01234567",
                .o = "ten_test",
                .not_after = time(NULL) + 3600,
                .key_usage = CR_KU_DIGITAL_SIGNATURE,
                .ext_key_usage = CR_EKU_CLIENT_AUTH,
        };
        struct cr_cert *c = NULL;
        assert_int_equal(cr_cert_self_signed(k, &spec, &c, NULL), 0);
        return c;
}

/* Drives both ends of a handshake over a socketpair; returns true when both
 * completed. *ret_peer gets the certificate the server saw. */
static bool handshake(SSL_CTX *cctx, struct cr_cert **ret_peer)
{
        struct cr_tls_server_opts o = {.cert_file = srv_cert, .key_file = srv_key,
                                       .request_client_cert = true};
        struct ssl_ctx_st *sctx = NULL;
        int sv[2];
        bool cdone = false, sdone = false, failed = false;

        assert_int_equal(cr_tls_server_ctx(&o, &sctx, NULL), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        SSL *c = SSL_new(cctx), *s = cr_tls_new_ssl(sctx);
        assert_non_null(c);
        assert_non_null(s);
        SSL_set_fd(c, sv[0]);
        SSL_set_fd(s, sv[1]);
        SSL_set_connect_state(c);
        SSL_set_accept_state(s);
        for (int i = 0; i < 1000 && !(cdone && sdone) && !failed; i++) {
                if (!cdone) {
                        int r = SSL_do_handshake(c);
                        if (r == 1)
                                cdone = true;
                        else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ &&
                                 SSL_get_error(c, r) != SSL_ERROR_WANT_WRITE)
                                failed = true;
                }
                if (!sdone && !failed) {
                        int r = SSL_do_handshake(s);
                        if (r == 1) {
                                sdone = true;
                        } else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ &&
                                   SSL_get_error(s, r) != SSL_ERROR_WANT_WRITE) {
                                failed = true;
                        }
                }
                /* TLS 1.3: the server finishes only after reading the client's
                 * certificate and CertificateVerify; a read pumps it. */
                if (cdone && !sdone && !failed) {
                        char b;
                        int r = SSL_read(s, &b, 1);
                        if (r <= 0 && SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                                failed = true;
                        if (SSL_is_init_finished(s))
                                sdone = true;
                }
        }
        if (sdone && ret_peer && cr_tls_peer_cert(s, ret_peer) < 0)
                *ret_peer = NULL;
        ERR_clear_error();
        SSL_free(c);
        SSL_free(s);
        cr_tls_ctx_free(sctx);
        close(sv[0]);
        close(sv[1]);
        return cdone && sdone && !failed;
}

static SSL_CTX *client_ctx(void)
{
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        assert_non_null(ctx);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return ctx;
}

static void test_handshake_with_remote_key(void **state)
{
        struct remote rm = {0};
        struct cr_cert *cert, *peer = NULL;
        struct cr_monitor_key *mk = NULL;
        struct rp_err err = {0};
        uint8_t a[CR_SHA256_LEN], b[CR_SHA256_LEN];

        assert_int_equal(cr_key_generate(&rm.key, NULL), 0);
        cert = client_cert(rm.key);
        assert_int_equal(cr_monitor_key_new(cert, sign_cb, &rm, &mk, &err), 0);
        SSL_CTX *ctx = client_ctx();
        assert_int_equal(cr_monitor_key_use(mk, ctx, &err), 0);
        assert_true(handshake(ctx, &peer));
        assert_true(rm.calls >= 1);
        assert_int_equal(cr_monitor_key_signatures(mk), (unsigned long)rm.calls);
        assert_non_null(peer);
        assert_int_equal(cr_cert_fingerprint(peer, a), 0);
        assert_int_equal(cr_cert_fingerprint(cert, b), 0);
        assert_memory_equal(a, b, sizeof(a));
        cr_cert_free(peer);
        SSL_CTX_free(ctx);
        cr_monitor_key_free(mk);
        cr_cert_free(cert);
        cr_key_free(rm.key);
}

/* The key handle of an earlier boot signs with a key that is not the
 * certificate's: the client refuses to send that signature. */
static void test_wrong_key_refused_on_client(void **state)
{
        struct remote rm = {0};
        struct cr_key *certkey = NULL;
        struct cr_cert *cert;
        struct cr_monitor_key *mk = NULL;

        assert_int_equal(cr_key_generate(&certkey, NULL), 0);
        assert_int_equal(cr_key_generate(&rm.key, NULL), 0);
        cert = client_cert(certkey);
        assert_int_equal(cr_monitor_key_new(cert, sign_cb, &rm, &mk, NULL), 0);
        SSL_CTX *ctx = client_ctx();
        assert_int_equal(cr_monitor_key_use(mk, ctx, NULL), 0);
        assert_false(handshake(ctx, NULL));
        assert_true(rm.calls >= 1);
        assert_int_equal(cr_monitor_key_signatures(mk), 0);
        SSL_CTX_free(ctx);
        cr_monitor_key_free(mk);
        cr_cert_free(cert);
        cr_key_free(certkey);
        cr_key_free(rm.key);
}

static void test_refusing_signer(void **state)
{
        struct remote rm = {.refuse = 1};
        struct cr_cert *cert;
        struct cr_monitor_key *mk = NULL;

        assert_int_equal(cr_key_generate(&rm.key, NULL), 0);
        cert = client_cert(rm.key);
        assert_int_equal(cr_monitor_key_new(cert, sign_cb, &rm, &mk, NULL), 0);
        SSL_CTX *ctx = client_ctx();
        assert_int_equal(cr_monitor_key_use(mk, ctx, NULL), 0);
        assert_false(handshake(ctx, NULL));
        assert_true(rm.calls >= 1);
        SSL_CTX_free(ctx);
        cr_monitor_key_free(mk);
        cr_cert_free(cert);
        cr_key_free(rm.key);
}

/* Freeing the handle early must not pull the key out from under a context
 * that still uses it. */
static void test_context_outlives_handle(void **state)
{
        struct remote rm = {0};
        struct cr_cert *cert;
        struct cr_monitor_key *mk = NULL;

        assert_int_equal(cr_key_generate(&rm.key, NULL), 0);
        cert = client_cert(rm.key);
        assert_int_equal(cr_monitor_key_new(cert, sign_cb, &rm, &mk, NULL), 0);
        SSL_CTX *ctx = client_ctx();
        assert_int_equal(cr_monitor_key_use(mk, ctx, NULL), 0);
        cr_monitor_key_free(mk);
        cr_cert_free(cert);
        assert_true(handshake(ctx, NULL));
        assert_true(rm.calls >= 1);
        SSL_CTX_free(ctx);
        cr_key_free(rm.key);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_handshake_with_remote_key),
                cmocka_unit_test(test_wrong_key_refused_on_client),
                cmocka_unit_test(test_refusing_signer),
                cmocka_unit_test(test_context_outlives_handle),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
