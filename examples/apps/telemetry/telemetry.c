/* telemetry - publishes readings to an MQTT broker over mutual TLS, as the
 * device: the client certificate is the device's app certificate and its
 * key stays in the device's security monitor (DeviceAuthentication, through
 * rampart/tls.h). The broker knows the sender by that certificate.
 *
 *   telemetry HOST PORT CA_IN_IMAGE TOPIC COUNT [INTERVAL_MS]
 *
 * MQTT 3.1.1, QoS 0, one connection; waits for the network first. */
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <rampart/rampart.h>
#include <rampart/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int tcp_connect(const char *host, const char *port)
{
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
        int fd = -1;
        int r = getaddrinfo(host, port, &hints, &res);
        if (r != 0) {
                rp_logf("telemetry: resolving %s: %s", host, gai_strerror(r));
                return -1;
        }
        for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
                if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
                        rp_logf("telemetry: connecting to %s:%s: %m", host, port);
                        close(fd);
                        fd = -1;
                }
        }
        freeaddrinfo(res);
        return fd;
}

static size_t put_str(unsigned char *p, const char *s)
{
        size_t l = strlen(s);
        p[0] = (unsigned char)(l >> 8);
        p[1] = (unsigned char)l;
        memcpy(p + 2, s, l);
        return l + 2;
}

static int send_all(SSL *ssl, const unsigned char *b, size_t n)
{
        return SSL_write(ssl, b, (int)n) == (int)n ? 0 : -1;
}

int main(int argc, char **argv)
{
        if (argc < 6) {
                rp_logf("usage: telemetry HOST PORT CA_IN_IMAGE TOPIC COUNT [INTERVAL_MS]");
                return 2;
        }
        const char *host = argv[1], *port = argv[2], *topic = argv[4];
        long count = strtol(argv[5], NULL, 10), interval = argc > 6 ? strtol(argv[6], NULL, 10) : 200;
        char ca[300], line[256];
        unsigned char pkt[512];
        SSL_CTX *ctx = NULL;
        bool ready = false;
        int r;

        for (int i = 0; i < 100 && !ready; i++) {
                if (rp_net_ready(&ready) < 0 || !ready)
                        usleep(100 * 1000);
        }
        if (rp_image_path(argv[3], ca, sizeof(ca)) < 0) {
                rp_logf("telemetry: bad CA path '%s'", argv[3]);
                return 2;
        }
        /* the device certificate may not be issued yet right after boot */
        for (int i = 0; (r = rp_tls_ctx_new(&ctx)) == -ENOENT && i < 300; i++)
                usleep(200 * 1000);
        if (r < 0) {
                rp_logf("telemetry: no device authentication: %s", strerror(-r));
                return 1;
        }
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
                rp_logf("telemetry: cannot load the broker CA %s", ca);
                return 1;
        }
        int fd = tcp_connect(host, port);
        if (fd < 0)
                return 1;
        SSL *ssl = SSL_new(ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
                ERR_error_string_n(ERR_get_error(), line, sizeof(line));
                rp_logf("telemetry: TLS handshake with %s:%s failed: %s", host, port, line);
                return 1;
        }
        /* CONNECT: "MQTT" level 4, clean session, keep-alive 60. The client
         * id is unique per device (app name and the certificate's CN, the
         * UEID): a broker closes an older connection with the same id, so
         * one id for the whole fleet would cut the devices off each other. */
        char cid[160];
        X509 *me = SSL_CTX_get0_certificate(ctx);
        char cn[80] = "";
        if (!me || X509_NAME_get_text_by_NID(X509_get_subject_name(me), NID_commonName, cn,
                                             sizeof(cn)) <= 0) {
                rp_logf("telemetry: the device certificate has no common name");
                return 1;
        }
        snprintf(cid, sizeof(cid), "%.48s-%.64s", rp_app_name()[0] ? rp_app_name() : "telemetry", cn);
        size_t n = 2;
        static const unsigned char vh[10] = { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60 };
        memcpy(pkt + n, vh, sizeof(vh));
        n += sizeof(vh);
        n += put_str(pkt + n, cid);
        pkt[0] = 0x10;
        pkt[1] = (unsigned char)(n - 2);       /* at most 12 + 48 + 1 + 64 < 128 */
        unsigned char ack[4];
        if (send_all(ssl, pkt, n) < 0 || SSL_read(ssl, ack, 4) != 4 || ack[0] != 0x20 || ack[3] != 0) {
                rp_logf("telemetry: the broker refused the connection");
                return 1;
        }
        rp_logf("telemetry: connected to %s:%s as the device (client id %s)", host, port, cid);
        for (long i = 1; i <= count; i++) {
                int len = snprintf(line, sizeof(line), "reading %ld from %s", i, rp_app_component_id());
                n = 2;
                n += put_str(pkt + n, topic);
                memcpy(pkt + n, line, (size_t)len);
                n += (size_t)len;
                pkt[0] = 0x30;
                pkt[1] = (unsigned char)(n - 2);
                if (n - 2 > 127 || send_all(ssl, pkt, n) < 0) {
                        rp_logf("telemetry: publish %ld failed", i);
                        return 1;
                }
                rp_logf("telemetry: published %ld to %s", i, topic);
                usleep((useconds_t)interval * 1000);
        }
        pkt[0] = 0xe0;
        pkt[1] = 0;
        (void)send_all(ssl, pkt, 2);
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
        SSL_CTX_free(ctx);
        rp_logf("telemetry: done");
        for (;;)
                pause();
}
