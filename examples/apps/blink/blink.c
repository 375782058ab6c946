/* blink - toggles GPIO 8 of the board every half second (Gpio capability).
 * The board file DATA/board/gpio/8 shows the pin's level. */
#include <rampart/rampart.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        unsigned pin = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 8;
        struct timespec half = { 0, 500 * 1000 * 1000 };
        int fd = rp_gpio_open(pin);
        if (fd < 0) {
                rp_logf("blink: cannot open GPIO %u: %s", pin, strerror(-fd));
                return 1;
        }
        rp_logf("blink: driving GPIO %u", pin);
        for (unsigned long n = 0;; n++) {
                int r = rp_gpio_set(fd, (int)(n & 1));
                if (r < 0) {
                        rp_logf("blink: GPIO %u: %s", pin, strerror(-r));
                        return 1;
                }
                if (n < 4 || n % 100 == 0)
                        rp_logf("blink: GPIO %u = %lu (toggle %lu)", pin, n & 1, n);
                nanosleep(&half, NULL);
        }
}
