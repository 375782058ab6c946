/* mqtt_device.c - see mqtt_device.h. A test tool, so it talks to OpenSSL's
 * SSL layer itself; the private key operations go through the monitor. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "crypto/monitor_key.h"
#include "mqtt_device.h"

struct signer {
        struct mon_client *mon;
        uint32_t handle;
};

static int monitor_sign(void *userdata, const uint8_t digest[CR_SHA256_LEN], uint8_t **ret_sig,
                        size_t *ret_len)
{
        struct signer *s = userdata;
        struct rp_err e = {0};
        int r = mon_tls_sign(s->mon, s->handle, digest, ret_sig, ret_len, &e);
        if (r < 0)
                fprintf(stderr, "mqtt-device: tls-sign: %s\n", e.msg);
        return r;
}

static int ssl_fail(struct rp_err *err, const char *what)
{
        char buf[160] = "";
        unsigned long e = ERR_get_error();
        if (e)
                ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return rp_err_set(err, -ECONNREFUSED, "%s: %s", what, buf[0] ? buf : "refused");
}

int att_mqtt_connect(const char *host, int port, const char *ca_file, struct cr_cert *cert,
                     struct mon_client *mon, uint32_t handle, const char *client_id,
                     int *ret_rc, struct rp_err *err)
{
        struct signer sg = {mon, handle};
        struct cr_monitor_key *mk = NULL;
        SSL_CTX *ctx = NULL;
        SSL *ssl = NULL;
        int fd = -1, r;
        uint8_t pkt[300], ack[4];
        size_t id_len = strlen(client_id), n = 0;

        if (id_len > 200)
                return rp_err_set(err, -EINVAL, "client id too long");
        r = cr_monitor_key_new(cert, monitor_sign, &sg, &mk, err);
        if (r < 0)
                return r;
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx) {
                r = ssl_fail(err, "SSL_CTX_new");
                goto out;
        }
        r = cr_monitor_key_use(mk, ctx, err);
        if (r < 0)
                goto out;
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
                r = ssl_fail(err, "loading the broker CA");
                goto out;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
                r = rp_err_set(err, -EINVAL, "host '%s' is not an IPv4 address", host);
                goto out;
        }
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = rp_err_set(err, -errno, "connecting to %s:%d: %s", host, port, strerror(errno));
                goto out;
        }
        ssl = SSL_new(ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
                r = ssl_fail(err, "TLS handshake with the broker");
                goto out;
        }
        /* CONNECT: protocol "MQTT" level 4, clean session, keep-alive 60 */
        size_t rem = 10 + 2 + id_len;
        pkt[n++] = 0x10;
        pkt[n++] = (uint8_t)rem;
        static const uint8_t vh[10] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60};
        memcpy(pkt + n, vh, sizeof(vh));
        n += sizeof(vh);
        pkt[n++] = (uint8_t)(id_len >> 8);
        pkt[n++] = (uint8_t)id_len;
        memcpy(pkt + n, client_id, id_len);
        n += id_len;
        if (SSL_write(ssl, pkt, (int)n) != (int)n) {
                r = ssl_fail(err, "sending CONNECT");
                goto out;
        }
        size_t got = 0;
        while (got < sizeof(ack)) {
                int k = SSL_read(ssl, ack + got, (int)(sizeof(ack) - got));
                if (k <= 0) {
                        r = ssl_fail(err, "reading CONNACK (the broker closed the connection)");
                        goto out;
                }
                got += (size_t)k;
        }
        if (ack[0] != 0x20 || ack[1] != 2) {
                r = rp_err_set(err, -EPROTO, "not a CONNACK: %02x %02x", ack[0], ack[1]);
                goto out;
        }
        *ret_rc = ack[3];
        r = 0;
out:
        if (ssl) {
                SSL_shutdown(ssl);
                SSL_free(ssl);
        }
        if (fd >= 0)
                close(fd);
        SSL_CTX_free(ctx);
        cr_monitor_key_free(mk);
        return r;
}
