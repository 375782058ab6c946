/* fault.c - see fault.h. */
#include "lib/fault.h"

#ifdef RP_FAULT_INJECTION
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rp_fault_point(const char *name)
{
        static unsigned hits;
        const char *want = getenv("RP_FAULT"), *at;
        size_t n;
        unsigned long nth = 1;

        if (!want || !*want)
                return;
        at = strchr(want, '@');
        n = at ? (size_t)(at - want) : strlen(want);
        if (strlen(name) != n || strncmp(want, name, n) != 0)
                return;
        if (at)
                nth = strtoul(at + 1, NULL, 10);
        if (++hits < nth)
                return;
        kill(getpid(), SIGKILL);
        _exit(137);
}
#endif
