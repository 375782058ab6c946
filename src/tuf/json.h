/* json.h - strict JSON for TUF metadata: a thin layer over jansson that
 * refuses what a lenient parser would silently accept.
 *
 * Input is bounded before jansson sees it (size and nesting depth are
 * checked by a pre-scan, since jansson's own depth limit is a compile-time
 * 2048), duplicate keys and NUL bytes are refused, and every accessor checks
 * the JSON type exactly (an integer is never read from a real or a string).
 * Objects are checked against the list of fields they may carry, so an
 * unknown field in signed metadata is an error, not something ignored.
 *
 * Internal to src/tuf. Pure: no I/O, no logging. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "lib/err.h"

#define TUF_JSON_MAX_DEPTH 8

/* Parses `len` bytes as one JSON object; refuses more than `max` bytes,
 * nesting deeper than TUF_JSON_MAX_DEPTH, duplicate keys, NUL and
 * non-object top levels. `what` names the document in messages. *ret is a
 * new reference (json_decref). */
int tuf_json_parse(const void *buf, size_t len, size_t max, const char *what, json_t **ret,
                   struct rp_err *err) RP_WUR;

/* Refuses any member of `obj` whose name is not in the NULL-terminated list
 * `allowed`, and any name in `required` (NULL-terminated, may be NULL) that
 * is missing. */
int tuf_json_fields(const json_t *obj, const char *what, const char *const *allowed,
                    const char *const *required, struct rp_err *err) RP_WUR;

/* Typed getters of a required member. Strings must be non-empty, at most
 * `max` bytes, printable ASCII only (0x20..0x7e); copied into out[max+1]. */
int tuf_json_str(const json_t *obj, const char *key, const char *what, char *out, size_t max,
                 struct rp_err *err) RP_WUR;
/* The same checks on a string value itself (an array item); `label` names
 * it in messages. */
int tuf_json_strv(const json_t *v, const char *label, const char *what, char *out, size_t max,
                  struct rp_err *err) RP_WUR;
/* Lowercase hex of exactly n bytes (n <= 64) from a C string. */
int tuf_hex_parse(const char *s, const char *label, const char *what, uint8_t *out, size_t n,
                  struct rp_err *err) RP_WUR;
/* A JSON integer in [min, max]. */
int tuf_json_u64(const json_t *obj, const char *key, const char *what, uint64_t min,
                 uint64_t max, uint64_t *ret, struct rp_err *err) RP_WUR;
/* A JSON object / array member (borrowed reference). */
int tuf_json_obj(const json_t *obj, const char *key, const char *what, json_t **ret,
                 struct rp_err *err) RP_WUR;
int tuf_json_arr(const json_t *obj, const char *key, const char *what, size_t max_items,
                 json_t **ret, struct rp_err *err) RP_WUR;
/* Lowercase hex of exactly n bytes. */
int tuf_json_hex(const json_t *obj, const char *key, const char *what, uint8_t *out, size_t n,
                 struct rp_err *err) RP_WUR;
/* RFC 3339 UTC timestamp in exactly the form "YYYY-MM-DDTHH:MM:SSZ". */
int tuf_json_time(const json_t *obj, const char *key, const char *what, time_t *ret,
                  struct rp_err *err) RP_WUR;

/* Formats `t` as "YYYY-MM-DDTHH:MM:SSZ" (out >= 21 bytes). */
void tuf_time_format(time_t t, char out[21]);
/* Parses exactly that form; -EINVAL otherwise. */
int tuf_time_parse(const char *s, time_t *ret) RP_WUR;

/* Serializes with sorted keys, compact separators; *ret is malloc'd and
 * NUL-terminated (not counted). */
int tuf_json_dump(const json_t *v, char **ret, size_t *ret_len) RP_WUR;
