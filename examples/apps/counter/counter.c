/* counter - counts its own starts in mutable storage (MutableStorage): the
 * value survives restarts and updates of the app, because the storage
 * belongs to the ComponentId, not to a version. */
#include <errno.h>
#include <fcntl.h>
#include <rampart/rampart.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef COUNTER_VERSION
#define COUNTER_VERSION "1"
#endif

int main(int argc, char **argv)
{
        const char *version = argc > 1 ? argv[1] : COUNTER_VERSION;
        char buf[32] = "";
        unsigned long long value = 0;
        int fd = rp_storage_open("count", O_RDONLY);

        if (fd >= 0) {
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n > 0) {
                        buf[n] = '\0';
                        value = strtoull(buf, NULL, 10);
                }
        } else if (fd != -ENOENT) {
                rp_logf("counter: cannot read the count: %s", strerror(-fd));
                return 1;
        }
        value++;
        int len = snprintf(buf, sizeof(buf), "%llu\n", value);
        int r = rp_storage_write_file("count", buf, (size_t)len);
        if (r < 0) {
                rp_logf("counter: cannot store the count: %s", strerror(-r));
                return 1;
        }
        rp_logf("counter: value %llu (version %s)", value, version);
        for (;;)
                pause();
}
