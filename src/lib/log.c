/* log.c - see log.h. */
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum rp_log_level floor_level(void)
{
        static int lvl = -1;
        if (lvl < 0) {
                const char *e = getenv("RP_LOG_LEVEL");
                lvl = RP_LOG_INFO;
                if (e && !strcmp(e, "debug"))
                        lvl = RP_LOG_DEBUG;
                else if (e && !strcmp(e, "warn"))
                        lvl = RP_LOG_WARN;
                else if (e && !strcmp(e, "error"))
                        lvl = RP_LOG_ERROR;
        }
        return (enum rp_log_level)lvl;
}

void rp_log(enum rp_log_level lvl, const char *component, const char *fmt, ...)
{
        static const char *names[] = {"debug", "info", "warn", "error"};
        char line[1024];
        struct timespec ts;
        struct tm tm;
        va_list ap;
        int n;

        if (lvl < floor_level())
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[lvl], component);
        va_start(ap, fmt);
        if (n > 0 && (size_t)n < sizeof(line))
                vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        fprintf(stderr, "%s\n", line);
}
