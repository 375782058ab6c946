/* rampart.c - librampart: the app side of the channel to rampartd
 * (runtime/appctl.h). Trusts nothing but the answers of rampartd, which
 * makes every decision; the checks here only give the app a clear message
 * early. */
#include "../../include/rampart/rampart.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "runtime/appctl.h"
#include "sdk/sdk_int.h"

#define STORAGE_DIR "/data"
#define IMAGE_DIR "/app"
#define CONNECT_WAIT_MS 5000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int chan = -1;

const char *rp_app_name(void)
{
        const char *v = getenv("RAMPART_APP");
        return v ? v : "";
}

const char *rp_app_component_id(void)
{
        const char *v = getenv("RAMPART_COMPONENT_ID");
        return v ? v : "";
}

void rp_logf(const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof(line) - 2)
                n = (int)sizeof(line) - 2;
        if (n == 0 || line[n - 1] != '\n')
                line[n++] = '\n';
        /* one write per line, so lines of threads do not interleave */
        if (write(STDERR_FILENO, line, (size_t)n) < 0) {
                /* nowhere else to say it */
        }
}

/* The message every refusal for a missing capability leaves in the app's log. */
int rp_sdk_deny(const char *call, const char *capability, const char *detail)
{
        rp_logf("rampart: %s: denied: missing capability %s%s%s", call, capability, detail ? " " : "",
                detail ? detail : "");
        return -EACCES;
}

int rp_sdk_connect(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timespec pause = { 0, 20 * 1000 * 1000 };
        int fd, waited = 0;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", RTD_APPCTL_PATH);
        for (;;) {
                fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        return fd;
                int e = errno;
                close(fd);
                /* the runtime binds the channel right after the app started */
                if ((e != ENOENT && e != ECONNREFUSED) || waited >= CONNECT_WAIT_MS)
                        return -e;
                nanosleep(&pause, NULL);
                waited += 20;
        }
}

int rp_sdk_call(const char *call, uint32_t op, uint32_t arg, const void *payload, size_t len, void *reply,
                size_t cap, size_t *ret_len, uint32_t *ret_arg, int *ret_fd)
{
        struct rtd_appctl_hdr h;
        static char errbuf[RTD_APPCTL_MAX_PAYLOAD + 1];
        int r;

        if (ret_fd)
                *ret_fd = -1;
        pthread_mutex_lock(&lock);
        for (int attempt = 0; attempt < 2; attempt++) {
                if (chan < 0 && (chan = rp_sdk_connect()) < 0) {
                        r = chan;
                        chan = -1;
                        pthread_mutex_unlock(&lock);
                        rp_logf("rampart: %s: cannot reach the device runtime: %s", call, strerror(-r));
                        return r;
                }
                r = rtd_appctl_send(chan, op, 0, arg, payload, len, -1);
                if (r == 0)
                        break;
                close(chan);
                chan = -1;
        }
        if (r == 0) {
                char *buf = reply ? reply : errbuf;
                size_t bcap = reply ? cap : sizeof(errbuf);
                r = rtd_appctl_recv(chan, &h, buf, bcap, ret_fd);
                if (r == 0 && h.op != op)
                        r = -EPROTO;
                if (r == 0 && h.status < 0) {
                        rp_logf("rampart: %s: %s", call, buf);
                        r = h.status;
                        if (ret_fd && *ret_fd >= 0) {
                                close(*ret_fd);
                                *ret_fd = -1;
                        }
                } else if (r == 0) {
                        if (ret_len)
                                *ret_len = h.len;
                        if (ret_arg)
                                *ret_arg = h.arg;
                } else {
                        close(chan);
                        chan = -1;
                }
        }
        pthread_mutex_unlock(&lock);
        return r;
}

/* ---- storage ---- */

static bool valid_name(const char *n)
{
        size_t l = n ? strlen(n) : 0;
        if (l == 0 || l > 64 || n[0] == '.')
                return false;
        for (size_t i = 0; i < l; i++) {
                char c = n[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-'))
                        return false;
        }
        return true;
}

static int storage_path(const char *call, const char *name, char out[128])
{
        struct stat st;
        if (!valid_name(name)) {
                rp_logf("rampart: %s: storage file name '%.70s' refused (1..64 of [A-Za-z0-9._-], not "
                        "starting with '.')", call, name ? name : "(null)");
                return -EINVAL;
        }
        /* the compartment has /data only when MutableStorage is declared */
        if (stat(STORAGE_DIR, &st) < 0 || !S_ISDIR(st.st_mode))
                return rp_sdk_deny(call, "MutableStorage", "(no storage is declared in the manifest)");
        snprintf(out, 128, STORAGE_DIR "/%s", name);
        return 0;
}

int rp_storage_open(const char *name, int flags)
{
        char p[128];
        int r = storage_path("rp_storage_open", name, p);
        if (r < 0)
                return r;
        if (flags & ~(O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_EXCL))
                return -EINVAL;
        int fd = open(p, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
        return fd < 0 ? -errno : fd;
}

int rp_storage_delete(const char *name)
{
        char p[128];
        int r = storage_path("rp_storage_delete", name, p);
        if (r < 0)
                return r;
        return unlink(p) < 0 ? -errno : 0;
}

int rp_storage_write_file(const char *name, const void *buf, size_t len)
{
        char p[128], tmp[140];
        int r = storage_path("rp_storage_write_file", name, p);
        if (r < 0)
                return r;
        snprintf(tmp, sizeof(tmp), "%s.tmp", p);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        const uint8_t *b = buf;
        while (len) {
                ssize_t n = write(fd, b, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -EIO;
                        close(fd);
                        unlink(tmp);
                        return r;
                }
                b += n;
                len -= (size_t)n;
        }
        if (fsync(fd) < 0) {
                r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        close(fd);
        /* replaced in one step: a crash leaves the old or the new content */
        if (rename(tmp, p) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

/* ---- image ---- */

int rp_image_path(const char *path, char *out, size_t cap)
{
        if (!path || !*path || path[0] == '/' || strstr(path, "..") || strlen(path) > 255)
                return -EINVAL;
        if ((size_t)snprintf(out, cap, IMAGE_DIR "/%s", path) >= cap)
                return -ENAMETOOLONG;
        return 0;
}

int rp_image_open(const char *path)
{
        char p[300];
        int r = rp_image_path(path, p, sizeof(p));
        if (r < 0)
                return r;
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* ---- networking ---- */

int rp_net_ready(bool *ret_ready)
{
        uint32_t arg = 0;
        int r = rp_sdk_call("rp_net_ready", RTD_OP_NET_READY, 0, NULL, 0, NULL, 0, NULL, &arg, NULL);
        if (r == 0)
                *ret_ready = arg != 0;
        return r;
}

/* ---- events ---- */

int rp_events_open(void)
{
        struct rtd_appctl_hdr h;
        char buf[512];
        int fd = rp_sdk_connect(), r;
        if (fd < 0)
                return fd;
        if ((r = rtd_appctl_send(fd, RTD_OP_EVENTS, 0, 0, NULL, 0, -1)) < 0 ||
            (r = rtd_appctl_recv(fd, &h, buf, sizeof(buf), NULL)) < 0) {
                close(fd);
                return r;
        }
        if (h.status < 0) {
                rp_logf("rampart: rp_events_open: %s", buf);
                close(fd);
                return h.status;
        }
        return fd;
}

int rp_events_read(int fd, struct rp_event *ret)
{
        struct rtd_appctl_hdr h;
        char buf[sizeof(ret->text)];
        int r = rtd_appctl_recv(fd, &h, buf, sizeof(buf), NULL);
        if (r < 0)
                return r;
        if (h.op != RTD_OP_EVENT)
                return -EPROTO;
        ret->type = (enum rp_event_type)h.arg;
        snprintf(ret->text, sizeof(ret->text), "%s", buf);
        return 0;
}

int rp_update_defer(unsigned seconds)
{
        return rp_sdk_call("rp_update_defer", RTD_OP_UPDATE_DEFER, seconds, NULL, 0, NULL, 0, NULL, NULL, NULL);
}

int rp_update_resume(void)
{
        return rp_sdk_call("rp_update_resume", RTD_OP_UPDATE_RESUME, 0, NULL, 0, NULL, 0, NULL, NULL, NULL);
}

int rp_power_reboot(void)
{
        return rp_sdk_call("rp_power_reboot", RTD_OP_REBOOT, 0, NULL, 0, NULL, 0, NULL, NULL, NULL);
}

/* ---- peripherals ---- */

static int periph_open(const char *call, uint32_t op, uint32_t arg, const char *name)
{
        int fd = -1;
        int r = rp_sdk_call(call, op, arg, name, name ? strlen(name) : 0, NULL, 0, NULL, NULL, &fd);
        if (r < 0)
                return r;
        return fd >= 0 ? fd : -EPROTO;
}

int rp_gpio_open(unsigned pin)
{
        return periph_open("rp_gpio_open", RTD_OP_GPIO_OPEN, pin, NULL);
}

int rp_gpio_set(int fd, int value)
{
        const char *v = value ? "1\n" : "0\n";
        return pwrite(fd, v, 2, 0) == 2 ? 0 : -errno;
}

int rp_gpio_get(int fd, int *ret_value)
{
        char c;
        ssize_t n = pread(fd, &c, 1, 0);
        if (n != 1)
                return n < 0 ? -errno : -EIO;
        *ret_value = c == '1';
        return 0;
}

int rp_uart_open(const char *name)
{
        return name ? periph_open("rp_uart_open", RTD_OP_UART_OPEN, 0, name) : -EINVAL;
}

int rp_i2c_open(const char *name)
{
        return name ? periph_open("rp_i2c_open", RTD_OP_I2C_OPEN, 0, name) : -EINVAL;
}

int rp_spi_open(const char *name)
{
        return name ? periph_open("rp_spi_open", RTD_OP_SPI_OPEN, 0, name) : -EINVAL;
}

/* ---- inter-app connections ---- */

int rp_app_connect(const char *component_id)
{
        if (!component_id)
                return -EINVAL;
        return periph_open("rp_app_connect", RTD_OP_APP_CONNECT, 0, component_id);
}

int rp_app_listen(void)
{
        struct rtd_appctl_hdr h;
        char buf[512];
        int fd = rp_sdk_connect(), r;
        if (fd < 0)
                return fd;
        if ((r = rtd_appctl_send(fd, RTD_OP_APP_LISTEN, 0, 0, NULL, 0, -1)) < 0 ||
            (r = rtd_appctl_recv(fd, &h, buf, sizeof(buf), NULL)) < 0) {
                close(fd);
                return r;
        }
        if (h.status < 0) {
                rp_logf("rampart: rp_app_listen: %s", buf);
                close(fd);
                return h.status;
        }
        return fd;
}

int rp_app_accept(int listen_fd, char *peer)
{
        struct rtd_appctl_hdr h;
        char buf[64];
        int fd = -1;
        int r = rtd_appctl_recv(listen_fd, &h, buf, sizeof(buf), &fd);
        if (r < 0)
                return r;
        if (h.op != RTD_OP_APP_INCOMING || fd < 0) {
                if (fd >= 0)
                        close(fd);
                return -EPROTO;
        }
        if (peer) {
                size_t l = strnlen(buf, 36);
                memcpy(peer, buf, l);
                peer[l] = '\0';
        }
        return fd;
}
