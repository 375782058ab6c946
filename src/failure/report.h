/* report.h - failure events and the upload batch format, shared by the
 * device (which builds batches) and the service (which parses them).
 *
 * A batch is one JSON object, sent as the body of POST /device/v1/failures:
 *
 *   {"batch_id": "<32 lowercase hex>",        idempotency key of the upload
 *    "dropped":  N,                            events the device's queue had to
 *                                              drop since the last acknowledged batch
 *    "events": [ EVENT, ... ]}                 1..FAIL_MAX_BATCH_EVENTS
 *
 *   EVENT = {"class": "app_crash"|"app_exit"|"update_fail"|"revert"|"attest_fail"|"watchdog",
 *            "component_id": ID, "component_version": VERSION,
 *            "time_first": UNIX-SECONDS, "time_last": UNIX-SECONDS, "count": N,
 *            app_crash only:  "signal": N, "si_code": N, "fault_addr": "0x..", "pc": "0x..",
 *                             "frames": [{"module", "build_id", "function", "offset",
 *                                         "module_offset"}, ...]   (may be empty)
 *                             optional "dump": base64url of a crash dump (crash.h format)
 *            app_exit only:   "exit_code": 1..255
 *            other classes:   "reason": TOKEN
 *            watchdog also:   optional "frames" (where the hung app was when the
 *                             supervisor stopped it)
 *            optional:        "detail": free text}
 *
 * Nothing in the body names the device: the service takes the identity from
 * the client certificate. Unknown fields, duplicate keys, fields that do not
 * belong to the event's class, control characters in strings and every value
 * over its named cap are refused with a message naming the field and value.
 *
 * Pure: no I/O, no logging. Trusts nothing in the input. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "lib/err.h"

#define FAIL_MAX_BATCH_BYTES   (1024 * 1024) /* whole JSON body */
#define FAIL_MAX_BATCH_EVENTS  64
#define FAIL_MAX_FRAMES        32
#define FAIL_MAX_ID            64    /* component_id */
#define FAIL_MAX_VERSION       64    /* component_version */
#define FAIL_MAX_MODULE        128   /* module file name (no directories) */
#define FAIL_MAX_FUNCTION      256   /* symbol name */
#define FAIL_MAX_BUILD_ID      64    /* hex digits (32 bytes) */
#define FAIL_MAX_REASON        64    /* [a-z0-9_.-] token */
#define FAIL_MAX_DETAIL        256   /* free text */
#define FAIL_MAX_DUMP          (64 * 1024) /* decoded crash dump bytes */
#define FAIL_BATCH_ID_LEN      32    /* hex digits */
#define FAIL_MAX_COUNT         UINT32_MAX
#define FAIL_MAX_DROPPED       UINT32_MAX
/* Event times are Unix seconds in [FAIL_MIN_TIME, FAIL_MAX_TIME]. */
#define FAIL_MIN_TIME          0
#define FAIL_MAX_TIME          INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

enum fail_class {
        FAIL_APP_CRASH,
        FAIL_APP_EXIT,
        FAIL_UPDATE_FAIL,
        FAIL_REVERT,
        FAIL_ATTEST_FAIL,
        FAIL_WATCHDOG,
        FAIL_CLASS_COUNT
};

struct fail_frame {
        char module[FAIL_MAX_MODULE + 1];       /* file name, e.g. "libc.so.6" */
        char build_id[FAIL_MAX_BUILD_ID + 1];   /* lowercase hex, "" if unknown */
        char function[FAIL_MAX_FUNCTION + 1];   /* "" if no symbol covers the pc */
        uint64_t offset;                        /* pc - function start (0 if no function) */
        uint64_t module_offset;                 /* pc - module load base */
};

struct fail_event {
        enum fail_class cls;
        char component_id[FAIL_MAX_ID + 1];
        char component_version[FAIL_MAX_VERSION + 1];
        int64_t time_first, time_last;
        uint32_t count;
        /* app_crash */
        int signal;
        int si_code;
        uint64_t fault_addr;
        uint64_t pc;
        uint32_t nframes;                       /* app_crash; watchdog optionally */
        struct fail_frame frames[FAIL_MAX_FRAMES];
        uint8_t *dump;          /* owned (malloc'd) or NULL; see fail_event_clear */
        size_t dump_len;
        /* app_exit */
        int exit_code;
        /* update_fail, revert, attest_fail, watchdog */
        char reason[FAIL_MAX_REASON + 1];
        /* any class */
        char detail[FAIL_MAX_DETAIL + 1];
};

/* Releases what an event owns (the dump) and zeroes it. Accepts NULL. */
void fail_event_clear(struct fail_event *ev);
/* Deep copy (duplicates the dump). */
int fail_event_copy(struct fail_event *dst, const struct fail_event *src) RP_WUR;

const char *fail_class_name(enum fail_class c);
int fail_class_parse(const char *name, enum fail_class *ret) RP_WUR;
/* update_fail and revert are sent at once; everything else may wait. */
bool fail_class_urgent(enum fail_class c);
/* "SIGSEGV" for 11, "SIG42" for numbers without a name. buf >= 16 bytes. */
const char *fail_signal_name(int sig, char *buf, size_t len);

/* Checks one event against every rule of the format (the same rules the
 * parser applies), so a device never queues what the service would refuse. */
int fail_event_validate(const struct fail_event *ev, struct rp_err *err) RP_WUR;

/* One event as a JSON object (new reference in *ret). Validates first. */
int fail_event_to_json(const struct fail_event *ev, json_t **ret, struct rp_err *err) RP_WUR;
/* Parses one event object; `what` prefixes messages (e.g. "events[3]").
 * *ret is written only on success; the caller clears it. */
int fail_event_from_json(const json_t *obj, const char *what, struct fail_event *ret,
                         struct rp_err *err) RP_WUR;

struct fail_batch {
        char batch_id[FAIL_BATCH_ID_LEN + 1];
        uint32_t dropped;
        size_t nevents;
        struct fail_event *events;      /* owned array of nevents */
};

void fail_batch_free(struct fail_batch *b);     /* releases contents; accepts NULL */

/* Serializes a batch (compact JSON, keys in a fixed order, so the same batch
 * always gives the same bytes). *ret_json is malloc'd and NUL-terminated. */
int fail_batch_build(const char *batch_id, uint32_t dropped, const struct fail_event *events,
                     size_t nevents, char **ret_json, size_t *ret_len,
                     struct rp_err *err) RP_WUR;

/* Parses and validates an upload body of `len` bytes (at most
 * FAIL_MAX_BATCH_BYTES). On success *ret is filled (caller frees with
 * fail_batch_free); on failure it is untouched. */
int fail_batch_parse(const void *buf, size_t len, struct fail_batch *ret,
                     struct rp_err *err) RP_WUR;

/* True when s is exactly FAIL_BATCH_ID_LEN lowercase hex digits. */
bool fail_batch_id_valid(const char *s);
