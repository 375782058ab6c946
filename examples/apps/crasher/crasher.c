/* crasher - crashes on command, to exercise restarts and failure reports.
 * It watches its command pin (GPIO 20 unless given): when the board sets
 * it to 1, it crashes the way it was told (segv, abort, exit:<code>). */
#include <rampart/rampart.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CRASHER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRASHER_ASAN 1
#endif
#endif

#ifdef CRASHER_ASAN
/* In a sanitizer build AddressSanitizer would catch the SIGSEGV, print its
 * report and exit(1): the supervisor would see an exit, not the crash this
 * app exists to show. Leave the fault signals to the kernel (the app's
 * environment is cleared, so ASAN_OPTIONS cannot say this). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
        return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0";
}
#endif

static void __attribute__((noinline)) crash_now(const char *mode)
{
        if (!strcmp(mode, "abort"))
                abort();
        if (!strncmp(mode, "exit:", 5))
                exit(atoi(mode + 5));
        volatile uintptr_t addr = 16;   /* opaque to the compiler */
        *(volatile int *)addr = 1;      /* SIGSEGV */
}

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "segv";
        unsigned pin = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20;
        struct timespec tick = { 0, 100 * 1000 * 1000 };
        int fd = rp_gpio_open(pin);
        if (fd < 0) {
                rp_logf("crasher: cannot open command GPIO %u: %s", pin, strerror(-fd));
                return 1;
        }
        rp_logf("crasher: waiting for GPIO %u to crash (%s)", pin, mode);
        for (;;) {
                int v = 0;
                if (rp_gpio_get(fd, &v) == 0 && v) {
                        rp_logf("crasher: commanded: crashing (%s)", mode);
                        crash_now(mode);
                }
                nanosleep(&tick, NULL);
        }
}
