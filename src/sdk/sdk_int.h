/* sdk_int.h - librampart internals shared by its files. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* A request on the app's channel; on a refusal rampartd's message is
 * written to the app's log and the status returned. `reply` may be NULL. */
int rp_sdk_call(const char *call, uint32_t op, uint32_t arg, const void *payload, size_t len, void *reply,
                size_t cap, size_t *ret_len, uint32_t *ret_arg, int *ret_fd);
/* A new connection to rampartd (retried while the channel is being set up). */
int rp_sdk_connect(void);
/* Logs "missing capability <capability>" for `call`; returns -EACCES. */
int rp_sdk_deny(const char *call, const char *capability, const char *detail);
