/* json.c - see json.h. */
#include "tuf/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/encode.h"

/* Nesting depth of containers outside strings; jansson parses afterwards,
 * so malformed input only needs to be bounded here, not understood. */
static size_t json_depth(const uint8_t *p, size_t len)
{
        size_t depth = 0, max = 0;
        bool in_str = false, esc = false;

        for (size_t i = 0; i < len; i++) {
                uint8_t c = p[i];
                if (in_str) {
                        if (esc)
                                esc = false;
                        else if (c == '\\')
                                esc = true;
                        else if (c == '"')
                                in_str = false;
                        continue;
                }
                if (c == '"')
                        in_str = true;
                else if (c == '{' || c == '[') {
                        if (++depth > max)
                                max = depth;
                } else if ((c == '}' || c == ']') && depth)
                        depth--;
        }
        return max;
}

int tuf_json_parse(const void *buf, size_t len, size_t max, const char *what, json_t **ret,
                   struct rp_err *err)
{
        json_error_t jerr;
        json_t *v = NULL;
        size_t d;

        if (len > max)
                return rp_err_set(err, -EFBIG, "%s: %zu bytes, the limit is %zu", what, len, max);
        if (len == 0)
                return rp_err_set(err, -EBADMSG, "%s: empty document", what);
        d = json_depth(buf, len);
        if (d > TUF_JSON_MAX_DEPTH)
                return rp_err_set(err, -EBADMSG, "%s: JSON nesting depth %zu, the limit is %d",
                                  what, d, TUF_JSON_MAX_DEPTH);
        v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!v)
                return rp_err_set(err, -EBADMSG, "%s: invalid JSON at byte %d: %s", what,
                                  jerr.position, jerr.text);
        if (!json_is_object(v)) {
                json_decref(v);
                return rp_err_set(err, -EBADMSG, "%s: top level is not a JSON object", what);
        }
        *ret = v;
        return 0;
}

static bool in_list(const char *k, const char *const *list)
{
        for (; list && *list; list++)
                if (!strcmp(k, *list))
                        return true;
        return false;
}

int tuf_json_fields(const json_t *obj, const char *what, const char *const *allowed,
                    const char *const *required, struct rp_err *err)
{
        const char *k;
        json_t *v = NULL;

        if (!json_is_object(obj))
                return rp_err_set(err, -EBADMSG, "%s: not a JSON object", what);
        json_object_foreach((json_t *)obj, k, v) {
                (void)v;
                if (!in_list(k, allowed))
                        return rp_err_set(err, -EBADMSG, "%s: unknown field '%.64s'", what, k);
        }
        for (; required && *required; required++)
                if (!json_object_get(obj, *required))
                        return rp_err_set(err, -EBADMSG, "%s: missing field '%s'", what,
                                          *required);
        return 0;
}

static int get(const json_t *obj, const char *key, const char *what, json_t **ret,
               struct rp_err *err)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return rp_err_set(err, -EBADMSG, "%s: missing field '%s'", what, key);
        *ret = v;
        return 0;
}

int tuf_json_strv(const json_t *v, const char *key, const char *what, char *out, size_t max,
                  struct rp_err *err)
{
        const char *s;
        size_t n;

        if (!json_is_string(v))
                return rp_err_set(err, -EBADMSG, "%s: field '%s' is not a string", what, key);
        s = json_string_value(v);
        n = json_string_length(v);
        if (n == 0)
                return rp_err_set(err, -EBADMSG, "%s: field '%s' is empty", what, key);
        if (n > max)
                return rp_err_set(err, -EBADMSG, "%s: field '%s' is %zu bytes, the limit is %zu",
                                  what, key, n, max);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
                        return rp_err_set(err, -EBADMSG,
                                          "%s: field '%s' has a non-printable byte 0x%02x at %zu",
                                          what, key, (unsigned char)s[i], i);
        memcpy(out, s, n);
        out[n] = '\0';
        return 0;
}

int tuf_json_str(const json_t *obj, const char *key, const char *what, char *out, size_t max,
                 struct rp_err *err)
{
        json_t *v = NULL;
        int r = get(obj, key, what, &v, err);
        if (r < 0)
                return r;
        return tuf_json_strv(v, key, what, out, max, err);
}

int tuf_json_u64(const json_t *obj, const char *key, const char *what, uint64_t min,
                 uint64_t max, uint64_t *ret, struct rp_err *err)
{
        json_t *v = NULL;
        json_int_t i;
        int r = get(obj, key, what, &v, err);

        if (r < 0)
                return r;
        if (!json_is_integer(v))
                return rp_err_set(err, -EBADMSG, "%s: field '%s' is not an integer", what, key);
        i = json_integer_value(v);
        if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
                return rp_err_set(err, -EBADMSG,
                                  "%s: field '%s' is %lld, allowed range is %llu..%llu", what, key,
                                  (long long)i, (unsigned long long)min, (unsigned long long)max);
        *ret = (uint64_t)i;
        return 0;
}

int tuf_json_obj(const json_t *obj, const char *key, const char *what, json_t **ret,
                 struct rp_err *err)
{
        json_t *v = NULL;
        int r = get(obj, key, what, &v, err);
        if (r < 0)
                return r;
        if (!json_is_object(v))
                return rp_err_set(err, -EBADMSG, "%s: field '%s' is not an object", what, key);
        *ret = v;
        return 0;
}

int tuf_json_arr(const json_t *obj, const char *key, const char *what, size_t max_items,
                 json_t **ret, struct rp_err *err)
{
        json_t *v = NULL;
        int r = get(obj, key, what, &v, err);
        if (r < 0)
                return r;
        if (!json_is_array(v))
                return rp_err_set(err, -EBADMSG, "%s: field '%s' is not an array", what, key);
        if (json_array_size(v) > max_items)
                return rp_err_set(err, -EBADMSG, "%s: field '%s' has %zu items, the limit is %zu",
                                  what, key, json_array_size(v), max_items);
        *ret = v;
        return 0;
}

int tuf_hex_parse(const char *s, const char *key, const char *what, uint8_t *out, size_t n,
                  struct rp_err *err)
{
        bool ok = n <= 64 && strlen(s) == 2 * n;
        for (const char *p = s; ok && *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        ok = false;
        if (!ok || rp_hex_decode(s, out, n) < 0)
                return rp_err_set(err, -EBADMSG, "%s: field '%s' is not lowercase hex of %zu bytes",
                                  what, key, n);
        return 0;
}

int tuf_json_hex(const json_t *obj, const char *key, const char *what, uint8_t *out, size_t n,
                 struct rp_err *err)
{
        char buf[2 * 64 + 2];
        int r;

        if (n > 64)
                return rp_err_set(err, -EINVAL, "%s: hex field '%s' too long", what, key);
        r = tuf_json_str(obj, key, what, buf, 2 * n + 1, err);
        if (r < 0)
                return r;
        return tuf_hex_parse(buf, key, what, out, n, err);
}

void tuf_time_format(time_t t, char out[21])
{
        struct tm tm;
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year < 70) {
                memcpy(out, "9999-12-31T23:59:59Z", 21);
                return;
        }
        strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int tuf_time_parse(const char *s, time_t *ret)
{
        static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
        struct tm tm = {0};
        char back[21];
        time_t t;

        if (strlen(s) != sizeof(shape) - 1)
                return -EINVAL;
        for (size_t i = 0; shape[i]; i++) {
                if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
                        return -EINVAL;
        }
#define NUM(o, n) ({ int _v = 0; for (int _i = 0; _i < (n); _i++) _v = _v * 10 + (s[(o) + _i] - '0'); _v; })
        tm.tm_year = NUM(0, 4) - 1900;
        tm.tm_mon = NUM(5, 2) - 1;
        tm.tm_mday = NUM(8, 2);
        tm.tm_hour = NUM(11, 2);
        tm.tm_min = NUM(14, 2);
        tm.tm_sec = NUM(17, 2);
#undef NUM
        if (tm.tm_year < 70)
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        /* canonical: timegm normalizes 02-30 into March; refuse that */
        tuf_time_format(t, back);
        if (strcmp(back, s))
                return -EINVAL;
        *ret = t;
        return 0;
}

int tuf_json_time(const json_t *obj, const char *key, const char *what, time_t *ret,
                  struct rp_err *err)
{
        char buf[32];
        int r = tuf_json_str(obj, key, what, buf, sizeof(buf) - 1, err);
        if (r < 0)
                return r;
        if (tuf_time_parse(buf, ret) < 0)
                return rp_err_set(err, -EBADMSG,
                                  "%s: field '%s' is '%s', expected YYYY-MM-DDTHH:MM:SSZ", what,
                                  key, buf);
        return 0;
}

int tuf_json_dump(const json_t *v, char **ret, size_t *ret_len)
{
        char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        *ret = s;
        *ret_len = strlen(s);
        return 0;
}
