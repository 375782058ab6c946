/* log.h - one-line structured logs to stderr: "LEVEL component: message".
 * Never pass secrets. RP_LOG_LEVEL=debug|info|warn|error selects the floor. */
#pragma once

enum rp_log_level { RP_LOG_DEBUG, RP_LOG_INFO, RP_LOG_WARN, RP_LOG_ERROR };

void rp_log(enum rp_log_level lvl, const char *component, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
#define rp_debug(c, ...) rp_log(RP_LOG_DEBUG, c, __VA_ARGS__)
#define rp_info(c, ...) rp_log(RP_LOG_INFO, c, __VA_ARGS__)
#define rp_warn(c, ...) rp_log(RP_LOG_WARN, c, __VA_ARGS__)
#define rp_error(c, ...) rp_log(RP_LOG_ERROR, c, __VA_ARGS__)
