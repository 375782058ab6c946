/* sdkprobe - an app for the librampart tests: runs each argument as one
 * SDK call and logs "probe: <arg> -> <result>", so a test can pack it with
 * any manifest and read what the device granted or refused. With "listen"
 * it then serves app connections (echoing "ack <line>"). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <rampart/rampart.h>
#include <rampart/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void report(const char *arg, int r)
{
        rp_logf("probe: %s -> %d (%s)", arg, r, r < 0 ? strerror(-r) : "ok");
}

static int storage_fill(void)
{
        static char block[4096];
        int fd = rp_storage_open("fill", O_WRONLY | O_CREAT | O_TRUNC);
        if (fd < 0)
                return fd;
        memset(block, 'x', sizeof(block));
        for (int i = 0; i < 100000; i++)
                if (write(fd, block, sizeof(block)) < 0) {
                        int e = errno;
                        close(fd);
                        if (rp_storage_delete("fill") < 0)
                                rp_logf("probe: cannot delete the fill file");
                        return -e;
                }
        close(fd);
        return 0;
}

static int talk(int fd, const char *msg)
{
        char buf[128];
        if (write(fd, msg, strlen(msg)) < 0)
                return -errno;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? -errno : -EPIPE;
        buf[n] = '\0';
        rp_logf("probe: reply '%s'", buf);
        return 0;
}

int main(int argc, char **argv)
{
        int lfd = -1, efd = -1;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = strchr(a, ':');
                v = v ? v + 1 : "";
                int r;
                if (!strncmp(a, "gpio:", 5)) {
                        r = rp_gpio_open((unsigned)atoi(v));
                } else if (!strncmp(a, "uart:", 5)) {
                        r = rp_uart_open(v);
                } else if (!strncmp(a, "i2c:", 4)) {
                        r = rp_i2c_open(v);
                } else if (!strncmp(a, "spi:", 4)) {
                        r = rp_spi_open(v);
                } else if (!strncmp(a, "storage-write:", 14)) {
                        r = rp_storage_write_file(v, "probe\n", 6);
                } else if (!strcmp(a, "storage-fill")) {
                        r = storage_fill();
                } else if (!strncmp(a, "image:", 6)) {
                        r = rp_image_open(v);
                } else if (!strcmp(a, "net")) {
                        bool ready = false;
                        r = rp_net_ready(&ready);
                        if (r == 0)
                                r = ready;
                } else if (!strcmp(a, "tls")) {
                        SSL_CTX *ctx = NULL;
                        r = rp_tls_ctx_new(&ctx);
                        SSL_CTX_free(ctx);
                } else if (!strncmp(a, "bench-net:", 10)) {
                        /* round trips on the channel, for the figures in docs/sdk.md */
                        int n = atoi(v);
                        struct timespec t0, t1;
                        bool ready;
                        clock_gettime(CLOCK_MONOTONIC, &t0);
                        for (r = 0; r < n && rp_net_ready(&ready) == 0; r++)
                                ;
                        clock_gettime(CLOCK_MONOTONIC, &t1);
                        double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
                        rp_logf("probe: %d round trips, %.1f us each", r, r ? us / r : 0.0);
                        r = r == n ? 0 : -EIO;
                } else if (!strcmp(a, "events")) {
                        r = efd = rp_events_open();
                } else if (!strncmp(a, "defer:", 6)) {
                        r = rp_update_defer((unsigned)atoi(v));
                } else if (!strcmp(a, "reboot")) {
                        r = rp_power_reboot();
                } else if (!strncmp(a, "connect:", 8)) {
                        r = rp_app_connect(v);
                        if (r >= 0) {
                                int fd = r;
                                r = talk(fd, "hello");
                                close(fd);
                        }
                } else if (!strcmp(a, "listen")) {
                        r = lfd = rp_app_listen();
                } else {
                        r = -EINVAL;
                }
                if (r >= 0 && strncmp(a, "connect:", 8) && strcmp(a, "net") && strcmp(a, "listen") &&
                    strcmp(a, "events") && strncmp(a, "storage", 7) && strcmp(a, "tls") && strncmp(a, "defer", 5) && strncmp(a, "bench", 5))
                        close(r);
                report(a, r < 0 ? r : 0);
        }
        rp_logf("probe: done");
        for (;;) {
                struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = efd, .events = POLLIN } };
                if (poll(p, 2, -1) < 0)
                        continue;
                if (p[0].revents & POLLIN) {
                        char peer[40] = "", buf[128];
                        int c = rp_app_accept(lfd, peer);
                        if (c < 0) {
                                report("accept", c);
                                lfd = -1;
                                continue;
                        }
                        ssize_t n = read(c, buf, sizeof(buf) - 1);
                        if (n > 0) {
                                buf[n] = '\0';
                                rp_logf("probe: connection from %s: '%s'", peer, buf);
                                dprintf(c, "ack %s", buf);
                        }
                        close(c);
                }
                if (p[1].revents & POLLIN) {
                        struct rp_event ev;
                        int r = rp_events_read(efd, &ev);
                        if (r < 0) {
                                report("event", r);
                                efd = -1;
                                continue;
                        }
                        rp_logf("probe: event %d '%s'", (int)ev.type, ev.text);
                }
                if (lfd < 0 && efd < 0)
                        pause();
        }
}
