/* report.c - see report.h. Pure: no I/O, no logging. */
#include "failure/report.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/encode.h"

/* batch -> events[] -> event -> frames[] -> frame is four levels. */
#define FAIL_MAX_DEPTH 6

static const char *const class_names[FAIL_CLASS_COUNT] = {
        [FAIL_APP_CRASH] = "app_crash",
        [FAIL_APP_EXIT] = "app_exit",
        [FAIL_UPDATE_FAIL] = "update_fail",
        [FAIL_REVERT] = "revert",
        [FAIL_ATTEST_FAIL] = "attest_fail",
        [FAIL_WATCHDOG] = "watchdog",
};

const char *fail_class_name(enum fail_class c)
{
        return (unsigned)c < FAIL_CLASS_COUNT ? class_names[c] : "?";
}

int fail_class_parse(const char *name, enum fail_class *ret)
{
        for (unsigned i = 0; i < FAIL_CLASS_COUNT; i++)
                if (strcmp(name, class_names[i]) == 0) {
                        *ret = (enum fail_class)i;
                        return 0;
                }
        return -EINVAL;
}

bool fail_class_urgent(enum fail_class c)
{
        return c == FAIL_UPDATE_FAIL || c == FAIL_REVERT;
}

const char *fail_signal_name(int sig, char *buf, size_t len)
{
        static const char *const names[] = {
                [SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT",
                [SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
                [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL",
                [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
                [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
                [SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
                [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN",
                [SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU",
                [SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
                [SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR",
                [SIGSYS] = "SIGSYS",
        };
        if (sig > 0 && (size_t)sig < sizeof(names) / sizeof(names[0]) && names[sig])
                return names[sig];
        snprintf(buf, len, "SIG%d", sig);
        return buf;
}

void fail_event_clear(struct fail_event *ev)
{
        if (!ev)
                return;
        free(ev->dump);
        memset(ev, 0, sizeof(*ev));
}

int fail_event_copy(struct fail_event *dst, const struct fail_event *src)
{
        uint8_t *d = NULL;

        if (src->dump && src->dump_len) {
                d = malloc(src->dump_len);
                if (!d)
                        return -ENOMEM;
                memcpy(d, src->dump, src->dump_len);
        }
        *dst = *src;
        dst->dump = d;
        if (!d)
                dst->dump_len = 0;
        return 0;
}

void fail_batch_free(struct fail_batch *b)
{
        if (!b)
                return;
        for (size_t i = 0; i < b->nevents; i++)
                fail_event_clear(&b->events[i]);
        free(b->events);
        memset(b, 0, sizeof(*b));
}

bool fail_batch_id_valid(const char *s)
{
        size_t i;
        for (i = 0; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return i == FAIL_BATCH_ID_LEN;
}

/* ---- string rules ---- */

enum str_kind {
        STR_ID,         /* [A-Za-z0-9._-] */
        STR_VERSION,    /* [A-Za-z0-9._+~-] */
        STR_TOKEN,      /* [a-z0-9_.-] */
        STR_HEX,        /* [0-9a-f], even length */
        STR_MODULE,     /* UTF-8 text without control characters or '/' */
        STR_TEXT,       /* UTF-8 text without control characters */
};

/* Checks UTF-8 well-formedness (no overlongs, no surrogates, <= U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n, size_t *bad)
{
        size_t i = 0;
        while (i < n) {
                unsigned char c = s[i];
                size_t len;
                uint32_t cp;
                if (c < 0x80) {
                        i++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        len = 2, cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        len = 3, cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        len = 4, cp = c & 0x07;
                } else {
                        *bad = i;
                        return false;
                }
                if (n - i < len) {
                        *bad = i;
                        return false;
                }
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xc0) != 0x80) {
                                *bad = i;
                                return false;
                        }
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff)) {
                        *bad = i;
                        return false;
                }
                i += len;
        }
        return true;
}

static bool kind_char_ok(enum str_kind k, unsigned char c)
{
        bool alnum_lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        bool upper = c >= 'A' && c <= 'Z';
        switch (k) {
        case STR_ID:
                return alnum_lower || upper || c == '.' || c == '_' || c == '-';
        case STR_VERSION:
                return alnum_lower || upper || c == '.' || c == '_' || c == '-' || c == '+' ||
                       c == '~';
        case STR_TOKEN:
                return alnum_lower || c == '.' || c == '_' || c == '-';
        case STR_HEX:
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        case STR_MODULE:
                return c >= 0x20 && c != 0x7f && c != '/';
        case STR_TEXT:
                return c >= 0x20 && c != 0x7f;
        }
        return false;
}

static const char *kind_desc(enum str_kind k)
{
        switch (k) {
        case STR_ID: return "letters, digits, '.', '_' and '-'";
        case STR_VERSION: return "letters, digits, '.', '_', '-', '+' and '~'";
        case STR_TOKEN: return "lowercase letters, digits, '.', '_' and '-'";
        case STR_HEX: return "an even number of lowercase hex digits";
        case STR_MODULE: return "a file name without control characters or '/'";
        case STR_TEXT: return "text without control characters";
        }
        return "?";
}

/* Quotes at most 40 bytes of a value for a message, escaping what is not
 * printable ASCII so the message itself stays one clean line. */
static const char *quote(const char *s, size_t n, char *out, size_t cap)
{
        size_t o = 0;
        for (size_t i = 0; i < n && i < 40 && o + 5 < cap; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c < 0x7f && c != '\\')
                        out[o++] = (char)c;
                else
                        o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        }
        if (n > 40 && o + 4 < cap) {
                memcpy(out + o, "...", 3);
                o += 3;
        }
        out[o] = '\0';
        return out;
}

static int check_str(const char *s, size_t n, enum str_kind k, size_t minlen, size_t maxlen,
                     const char *what, const char *field, struct rp_err *err)
{
        char q[200];
        size_t bad;

        if (n < minlen)
                return rp_err_set(err, -EINVAL, "%s: field '%s' is empty", what, field);
        if (n > maxlen)
                return rp_err_set(err, -E2BIG, "%s: field '%s' is %zu bytes, the limit is %zu",
                                  what, field, n, maxlen);
        if (memchr(s, '\0', n))
                return rp_err_set(err, -EINVAL, "%s: field '%s' contains a NUL byte", what,
                                  field);
        if (!utf8_valid((const unsigned char *)s, n, &bad))
                return rp_err_set(err, -EINVAL, "%s: field '%s' is not valid UTF-8 at byte %zu",
                                  what, field, bad);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                /* C1 controls U+0080..U+009F are 0xc2 0x80..0x9f (the
                 * UTF-8 check above guarantees the second byte exists and
                 * is a continuation byte): control characters like C0. */
                if (c == 0xc2 && (unsigned char)s[i + 1] <= 0x9f &&
                    (k == STR_MODULE || k == STR_TEXT))
                        return rp_err_set(err, -EINVAL,
                                          "%s: field '%s' is \"%s\": control character U+%04X "
                                          "at %zu is not allowed (%s)",
                                          what, field, quote(s, n, q, sizeof(q)),
                                          (unsigned)(unsigned char)s[i + 1], i, kind_desc(k));
                if (c >= 0x80 && (k == STR_MODULE || k == STR_TEXT))
                        continue;
                if (!kind_char_ok(k, c))
                        return rp_err_set(err, -EINVAL,
                                          "%s: field '%s' is \"%s\": byte 0x%02x at %zu is not "
                                          "allowed (%s)",
                                          what, field, quote(s, n, q, sizeof(q)), c, i,
                                          kind_desc(k));
        }
        if (k == STR_HEX && n % 2)
                return rp_err_set(err, -EINVAL, "%s: field '%s' is \"%s\": odd number of hex digits",
                                  what, field, quote(s, n, q, sizeof(q)));
        return 0;
}

/* ---- event validation (struct) ---- */

static int validate_frame(const struct fail_frame *f, const char *what, struct rp_err *err)
{
        int r;
        if ((r = check_str(f->module, strnlen(f->module, sizeof(f->module)), STR_MODULE, 1,
                           FAIL_MAX_MODULE, what, "module", err)) < 0)
                return r;
        if (strcmp(f->module, ".") == 0 || strcmp(f->module, "..") == 0)
                return rp_err_set(err, -EINVAL, "%s: field 'module' is \"%s\"", what, f->module);
        if ((r = check_str(f->build_id, strnlen(f->build_id, sizeof(f->build_id)), STR_HEX, 0,
                           FAIL_MAX_BUILD_ID, what, "build_id", err)) < 0)
                return r;
        if ((r = check_str(f->function, strnlen(f->function, sizeof(f->function)), STR_TEXT, 0,
                           FAIL_MAX_FUNCTION, what, "function", err)) < 0)
                return r;
        if (f->offset > INT64_MAX || f->module_offset > INT64_MAX)
                return rp_err_set(err, -ERANGE, "%s: offset %" PRIu64 "/%" PRIu64 " is out of range",
                                  what, f->offset, f->module_offset);
        return 0;
}

static int validate_frames(const struct fail_event *ev, struct rp_err *err)
{
        int r;

        if (ev->nframes > FAIL_MAX_FRAMES)
                return rp_err_set(err, -E2BIG, "event: %u frames, the limit is %d", ev->nframes,
                                  FAIL_MAX_FRAMES);
        for (uint32_t i = 0; i < ev->nframes; i++) {
                char fw[32];
                snprintf(fw, sizeof(fw), "event.frames[%u]", i);
                if ((r = validate_frame(&ev->frames[i], fw, err)) < 0)
                        return r;
        }
        return 0;
}

int fail_event_validate(const struct fail_event *ev, struct rp_err *err)
{
        const char *what = "event";
        int r;

        if ((unsigned)ev->cls >= FAIL_CLASS_COUNT)
                return rp_err_set(err, -EINVAL, "event: class %d is unknown", (int)ev->cls);
        if ((r = check_str(ev->component_id, strnlen(ev->component_id, sizeof(ev->component_id)),
                           STR_ID, 1, FAIL_MAX_ID, what, "component_id", err)) < 0)
                return r;
        if ((r = check_str(ev->component_version,
                           strnlen(ev->component_version, sizeof(ev->component_version)),
                           STR_VERSION, 1, FAIL_MAX_VERSION, what, "component_version", err)) < 0)
                return r;
        if (ev->time_first < FAIL_MIN_TIME || ev->time_first > FAIL_MAX_TIME ||
            ev->time_last < FAIL_MIN_TIME || ev->time_last > FAIL_MAX_TIME)
                return rp_err_set(err, -ERANGE, "event: time_first %" PRId64 " / time_last %" PRId64
                                  " is outside 0..%" PRId64, ev->time_first, ev->time_last,
                                  FAIL_MAX_TIME);
        if (ev->time_first > ev->time_last)
                return rp_err_set(err, -EINVAL, "event: time_first %" PRId64 " is after time_last %"
                                  PRId64, ev->time_first, ev->time_last);
        if (ev->count == 0)
                return rp_err_set(err, -EINVAL, "event: field 'count' is 0");
        if ((r = check_str(ev->detail, strnlen(ev->detail, sizeof(ev->detail)), STR_TEXT, 0,
                           FAIL_MAX_DETAIL, what, "detail", err)) < 0)
                return r;
        switch (ev->cls) {
        case FAIL_APP_CRASH:
                if (ev->signal < 1 || ev->signal > 64)
                        return rp_err_set(err, -ERANGE, "event: field 'signal' is %d, the range is 1..64",
                                          ev->signal);
                if ((r = validate_frames(ev, err)) < 0)
                        return r;
                if ((ev->dump == NULL) != (ev->dump_len == 0))
                        return rp_err_set(err, -EINVAL, "event: dump pointer and length disagree");
                if (ev->dump_len > FAIL_MAX_DUMP)
                        return rp_err_set(err, -E2BIG, "event: dump is %zu bytes, the limit is %d",
                                          ev->dump_len, FAIL_MAX_DUMP);
                if (ev->exit_code || ev->reason[0])
                        return rp_err_set(err, -EINVAL, "event: app_crash carries exit_code or reason");
                break;
        case FAIL_APP_EXIT:
                if (ev->exit_code < 1 || ev->exit_code > 255)
                        return rp_err_set(err, -ERANGE,
                                          "event: field 'exit_code' is %d, the range is 1..255",
                                          ev->exit_code);
                if (ev->signal || ev->nframes || ev->dump || ev->reason[0])
                        return rp_err_set(err, -EINVAL, "event: app_exit carries crash fields or reason");
                break;
        default:
                if ((r = check_str(ev->reason, strnlen(ev->reason, sizeof(ev->reason)), STR_TOKEN,
                                   1, FAIL_MAX_REASON, what, "reason", err)) < 0)
                        return r;
                /* A watchdog event may carry where the hung app was when the
                 * supervisor stopped it; nothing else carries frames. */
                if (ev->cls == FAIL_WATCHDOG) {
                        if ((r = validate_frames(ev, err)) < 0)
                                return r;
                } else if (ev->nframes) {
                        return rp_err_set(err, -EINVAL, "event: %s carries frames",
                                          fail_class_name(ev->cls));
                }
                if (ev->signal || ev->dump || ev->exit_code)
                        return rp_err_set(err, -EINVAL, "event: %s carries crash or exit fields",
                                          fail_class_name(ev->cls));
                break;
        }
        return 0;
}

/* ---- to JSON ---- */

static json_t *hex_addr(uint64_t v)
{
        char b[24];
        snprintf(b, sizeof(b), "0x%" PRIx64, v);
        return json_string(b);
}

static int set_new(json_t *o, const char *k, json_t *v)
{
        if (!v || json_object_set_new(o, k, v) != 0)
                return -ENOMEM;
        return 0;
}

static json_t *frames_to_json(const struct fail_event *ev)
{
        json_t *frames = json_array();

        if (!frames)
                return NULL;
        for (uint32_t i = 0; i < ev->nframes; i++) {
                const struct fail_frame *f = &ev->frames[i];
                json_t *fo = json_object();
                if (!fo || json_array_append_new(frames, fo) != 0 ||
                    set_new(fo, "module", json_string(f->module)) ||
                    set_new(fo, "build_id", json_string(f->build_id)) ||
                    set_new(fo, "function", json_string(f->function)) ||
                    set_new(fo, "offset", json_integer((json_int_t)f->offset)) ||
                    set_new(fo, "module_offset", json_integer((json_int_t)f->module_offset))) {
                        json_decref(frames);
                        return NULL;
                }
        }
        return frames;
}

int fail_event_to_json(const struct fail_event *ev, json_t **ret, struct rp_err *err)
{
        json_t *o = NULL;
        int r = fail_event_validate(ev, err);

        if (r < 0)
                return r;
        o = json_object();
        if (!o)
                goto oom;
        if (set_new(o, "class", json_string(fail_class_name(ev->cls))) ||
            set_new(o, "component_id", json_string(ev->component_id)) ||
            set_new(o, "component_version", json_string(ev->component_version)) ||
            set_new(o, "time_first", json_integer(ev->time_first)) ||
            set_new(o, "time_last", json_integer(ev->time_last)) ||
            set_new(o, "count", json_integer(ev->count)))
                goto oom;
        switch (ev->cls) {
        case FAIL_APP_CRASH:
                if (set_new(o, "signal", json_integer(ev->signal)) ||
                    set_new(o, "si_code", json_integer(ev->si_code)) ||
                    set_new(o, "fault_addr", hex_addr(ev->fault_addr)) ||
                    set_new(o, "pc", hex_addr(ev->pc)))
                        goto oom;
                if (set_new(o, "frames", frames_to_json(ev)))
                        goto oom;
                if (ev->dump) {
                        size_t n = rp_b64url_encoded_len(ev->dump_len);
                        char *b64 = malloc(n + 1);
                        if (!b64)
                                goto oom;
                        rp_b64url_encode(ev->dump, ev->dump_len, b64);
                        r = set_new(o, "dump", json_string(b64));
                        free(b64);
                        if (r)
                                goto oom;
                }
                break;
        case FAIL_APP_EXIT:
                if (set_new(o, "exit_code", json_integer(ev->exit_code)))
                        goto oom;
                break;
        default:
                if (set_new(o, "reason", json_string(ev->reason)))
                        goto oom;
                if (ev->cls == FAIL_WATCHDOG && ev->nframes &&
                    set_new(o, "frames", frames_to_json(ev)))
                        goto oom;
                break;
        }
        if (ev->detail[0] && set_new(o, "detail", json_string(ev->detail)))
                goto oom;
        *ret = o;
        return 0;
oom:
        json_decref(o);
        return rp_err_set(err, -ENOMEM, "out of memory building event JSON");
}

/* ---- from JSON ---- */

static int check_fields(const json_t *obj, const char *what, const char *const *allowed,
                        const char *cls, struct rp_err *err)
{
        const char *key;
        json_t *v = NULL;
        char q[200];

        json_object_foreach((json_t *)obj, key, v) {
                bool ok = false;
                for (size_t i = 0; allowed[i]; i++)
                        if (strcmp(key, allowed[i]) == 0) {
                                ok = true;
                                break;
                        }
                if (!ok)
                        return rp_err_set(err, -EINVAL, "%s: field \"%s\" is not allowed%s%s", what,
                                          quote(key, strlen(key), q, sizeof(q)),
                                          cls ? " in an event of class " : "", cls ? cls : "");
        }
        return 0;
}

static int get_member(const json_t *obj, const char *key, const char *what, json_t **ret,
                      struct rp_err *err)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return rp_err_set(err, -EINVAL, "%s: missing field '%s'", what, key);
        *ret = v;
        return 0;
}

static int get_str(const json_t *obj, const char *key, const char *what, bool required,
                   enum str_kind k, size_t minlen, size_t maxlen, char *out, struct rp_err *err)
{
        json_t *v = json_object_get(obj, key);
        size_t n;
        int r;

        if (!v) {
                if (required)
                        return rp_err_set(err, -EINVAL, "%s: missing field '%s'", what, key);
                out[0] = '\0';
                return 0;
        }
        if (!json_is_string(v))
                return rp_err_set(err, -EINVAL, "%s: field '%s' is not a string", what, key);
        n = json_string_length(v);
        r = check_str(json_string_value(v), n, k, minlen, maxlen, what, key, err);
        if (r < 0)
                return r;
        memcpy(out, json_string_value(v), n);
        out[n] = '\0';
        return 0;
}

static int get_int(const json_t *obj, const char *key, const char *what, int64_t min, int64_t max,
                   int64_t *ret, struct rp_err *err)
{
        json_t *v = NULL;
        json_int_t x;
        int r = get_member(obj, key, what, &v, err);

        if (r < 0)
                return r;
        if (!json_is_integer(v))
                return rp_err_set(err, -EINVAL, "%s: field '%s' is not an integer", what, key);
        x = json_integer_value(v);
        if (x < min || x > max)
                return rp_err_set(err, -ERANGE,
                                  "%s: field '%s' is %lld, the range is %" PRId64 "..%" PRId64,
                                  what, key, (long long)x, min, max);
        *ret = x;
        return 0;
}

/* "0x" followed by 1..16 lowercase hex digits without leading zeros. */
static int get_addr(const json_t *obj, const char *key, const char *what, uint64_t *ret,
                    struct rp_err *err)
{
        char q[200];
        const char *v;
        size_t n;
        json_t *j = NULL;
        int r = get_member(obj, key, what, &j, err);
        uint64_t x = 0;

        if (r < 0)
                return r;
        if (!json_is_string(j))
                return rp_err_set(err, -EINVAL, "%s: field '%s' is not a string", what, key);
        v = json_string_value(j);
        n = json_string_length(j);
        if (n < 3 || n > 18 || v[0] != '0' || v[1] != 'x' || (v[2] == '0' && n > 3))
                goto bad;
        for (size_t i = 2; i < n; i++) {
                char c = v[i];
                if (c >= '0' && c <= '9')
                        x = (x << 4) | (uint64_t)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        x = (x << 4) | (uint64_t)(c - 'a' + 10);
                else
                        goto bad;
        }
        *ret = x;
        return 0;
bad:
        return rp_err_set(err, -EINVAL,
                          "%s: field '%s' is \"%s\", expected \"0x\" and lowercase hex without "
                          "leading zeros",
                          what, key, quote(v, n, q, sizeof(q)));
}

static const char *const frame_fields[] = {"module", "build_id", "function", "offset",
                                           "module_offset", NULL};

static int frame_from_json(const json_t *fo, const char *what, struct fail_frame *f,
                           struct rp_err *err)
{
        int64_t x;
        int r;

        if (!json_is_object(fo))
                return rp_err_set(err, -EINVAL, "%s: not an object", what);
        if ((r = check_fields(fo, what, frame_fields, NULL, err)) < 0)
                return r;
        if ((r = get_str(fo, "module", what, true, STR_MODULE, 1, FAIL_MAX_MODULE, f->module,
                         err)) < 0)
                return r;
        if (strcmp(f->module, ".") == 0 || strcmp(f->module, "..") == 0)
                return rp_err_set(err, -EINVAL, "%s: field 'module' is \"%s\"", what, f->module);
        if ((r = get_str(fo, "build_id", what, true, STR_HEX, 0, FAIL_MAX_BUILD_ID, f->build_id,
                         err)) < 0)
                return r;
        if ((r = get_str(fo, "function", what, true, STR_TEXT, 0, FAIL_MAX_FUNCTION, f->function,
                         err)) < 0)
                return r;
        if ((r = get_int(fo, "offset", what, 0, INT64_MAX, &x, err)) < 0)
                return r;
        f->offset = (uint64_t)x;
        if ((r = get_int(fo, "module_offset", what, 0, INT64_MAX, &x, err)) < 0)
                return r;
        f->module_offset = (uint64_t)x;
        return 0;
}

static const char *const common_fields[] = {"class", "component_id", "component_version",
        "time_first", "time_last", "count", "detail"};
static const char *const crash_fields[] = {"signal", "si_code", "fault_addr", "pc", "frames",
        "dump", NULL};
static const char *const exit_fields[] = {"exit_code", NULL};
static const char *const other_fields[] = {"reason", NULL};
static const char *const watchdog_fields[] = {"reason", "frames", NULL};

static int frames_from_json(const json_t *frames, const char *what, struct fail_event *ev,
                            struct rp_err *err)
{
        int r;

        if (!json_is_array(frames))
                return rp_err_set(err, -EINVAL, "%s: field 'frames' is not an array", what);
        if (json_array_size(frames) > FAIL_MAX_FRAMES)
                return rp_err_set(err, -E2BIG, "%s: %zu frames, the limit is %d", what,
                                  json_array_size(frames), FAIL_MAX_FRAMES);
        for (size_t i = 0; i < json_array_size(frames); i++) {
                char fw[96];
                snprintf(fw, sizeof(fw), "%s.frames[%zu]", what, i);
                if ((r = frame_from_json(json_array_get(frames, i), fw, &ev->frames[i], err)) < 0)
                        return r;
                ev->nframes++;
        }
        return 0;
}

int fail_event_from_json(const json_t *obj, const char *what, struct fail_event *ret,
                         struct rp_err *err)
{
        struct fail_event *ev;
        const char *allowed[16];
        char cls[32];
        int64_t x;
        int r;

        if (!json_is_object(obj))
                return rp_err_set(err, -EINVAL, "%s: not an object", what);
        ev = calloc(1, sizeof(*ev));
        if (!ev)
                return rp_err_set(err, -ENOMEM, "out of memory");

        if ((r = get_str(obj, "class", what, true, STR_TOKEN, 1, sizeof(cls) - 1, cls, err)) < 0)
                goto out;
        if (fail_class_parse(cls, &ev->cls) < 0) {
                r = rp_err_set(err, -EINVAL, "%s: field 'class' is \"%s\", not one of app_crash, "
                               "app_exit, update_fail, revert, attest_fail, watchdog", what, cls);
                goto out;
        }
        {
                size_t n = 0;
                const char *const *extra = ev->cls == FAIL_APP_CRASH   ? crash_fields
                                           : ev->cls == FAIL_APP_EXIT  ? exit_fields
                                           : ev->cls == FAIL_WATCHDOG  ? watchdog_fields
                                                                       : other_fields;
                for (size_t i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++)
                        allowed[n++] = common_fields[i];
                for (size_t i = 0; extra[i]; i++)
                        allowed[n++] = extra[i];
                allowed[n] = NULL;
        }
        if ((r = check_fields(obj, what, allowed, cls, err)) < 0)
                goto out;
        if ((r = get_str(obj, "component_id", what, true, STR_ID, 1, FAIL_MAX_ID,
                         ev->component_id, err)) < 0 ||
            (r = get_str(obj, "component_version", what, true, STR_VERSION, 1, FAIL_MAX_VERSION,
                         ev->component_version, err)) < 0 ||
            (r = get_str(obj, "detail", what, false, STR_TEXT, 0, FAIL_MAX_DETAIL, ev->detail,
                         err)) < 0)
                goto out;
        if ((r = get_int(obj, "time_first", what, FAIL_MIN_TIME, FAIL_MAX_TIME, &ev->time_first,
                         err)) < 0 ||
            (r = get_int(obj, "time_last", what, FAIL_MIN_TIME, FAIL_MAX_TIME, &ev->time_last,
                         err)) < 0)
                goto out;
        if (ev->time_first > ev->time_last) {
                r = rp_err_set(err, -EINVAL, "%s: time_first %" PRId64 " is after time_last %" PRId64,
                               what, ev->time_first, ev->time_last);
                goto out;
        }
        if ((r = get_int(obj, "count", what, 1, FAIL_MAX_COUNT, &x, err)) < 0)
                goto out;
        ev->count = (uint32_t)x;

        switch (ev->cls) {
        case FAIL_APP_CRASH: {
                json_t *frames = NULL, *dump;
                if ((r = get_int(obj, "signal", what, 1, 64, &x, err)) < 0)
                        goto out;
                ev->signal = (int)x;
                if ((r = get_int(obj, "si_code", what, INT32_MIN, INT32_MAX, &x, err)) < 0)
                        goto out;
                ev->si_code = (int)x;
                if ((r = get_addr(obj, "fault_addr", what, &ev->fault_addr, err)) < 0 ||
                    (r = get_addr(obj, "pc", what, &ev->pc, err)) < 0)
                        goto out;
                if ((r = get_member(obj, "frames", what, &frames, err)) < 0 ||
                    (r = frames_from_json(frames, what, ev, err)) < 0)
                        goto out;
                dump = json_object_get(obj, "dump");
                if (dump) {
                        size_t n;
                        if (!json_is_string(dump)) {
                                r = rp_err_set(err, -EINVAL, "%s: field 'dump' is not a string", what);
                                goto out;
                        }
                        n = json_string_length(dump);
                        if (n == 0 || n > rp_b64url_encoded_len(FAIL_MAX_DUMP)) {
                                r = rp_err_set(err, -E2BIG, "%s: field 'dump' is %zu characters, "
                                               "the range is 1..%zu", what, n,
                                               rp_b64url_encoded_len(FAIL_MAX_DUMP));
                                goto out;
                        }
                        if (rp_b64url_decode(json_string_value(dump), n, &ev->dump,
                                             &ev->dump_len) < 0) {
                                r = rp_err_set(err, -EINVAL,
                                               "%s: field 'dump' is not canonical base64url", what);
                                goto out;
                        }
                        if (ev->dump_len == 0 || ev->dump_len > FAIL_MAX_DUMP) {
                                r = rp_err_set(err, -E2BIG, "%s: dump is %zu bytes, the range is 1..%d",
                                               what, ev->dump_len, FAIL_MAX_DUMP);
                                goto out;
                        }
                }
                break;
        }
        case FAIL_APP_EXIT:
                if ((r = get_int(obj, "exit_code", what, 1, 255, &x, err)) < 0)
                        goto out;
                ev->exit_code = (int)x;
                break;
        default:
                if ((r = get_str(obj, "reason", what, true, STR_TOKEN, 1, FAIL_MAX_REASON,
                                 ev->reason, err)) < 0)
                        goto out;
                if (ev->cls == FAIL_WATCHDOG && json_object_get(obj, "frames") &&
                    (r = frames_from_json(json_object_get(obj, "frames"), what, ev, err)) < 0)
                        goto out;
                break;
        }
        *ret = *ev;
        free(ev);
        return 0;
out:
        fail_event_clear(ev);
        free(ev);
        return r;
}

/* ---- batches ---- */

/* Refuses nesting deeper than FAIL_MAX_DEPTH before jansson recurses. */
static int depth_scan(const char *s, size_t n, struct rp_err *err)
{
        unsigned depth = 0;
        bool in_str = false;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = false;
                        continue;
                }
                if (c == '"') {
                        in_str = true;
                } else if (c == '{' || c == '[') {
                        if (++depth > FAIL_MAX_DEPTH)
                                return rp_err_set(err, -EINVAL,
                                                  "failure batch nests deeper than %d levels at "
                                                  "byte %zu", FAIL_MAX_DEPTH, i);
                } else if ((c == '}' || c == ']') && depth > 0) {
                        depth--;
                }
        }
        return 0;
}

static const char *const batch_fields[] = {"batch_id", "dropped", "events", NULL};

int fail_batch_parse(const void *buf, size_t len, struct fail_batch *ret, struct rp_err *err)
{
        json_t *root = NULL, *events = NULL;
        json_error_t je;
        struct fail_batch b = {0};
        int64_t x;
        int r;

        if (len > FAIL_MAX_BATCH_BYTES)
                return rp_err_set(err, -E2BIG, "failure batch is %zu bytes, the limit is %d", len,
                                  FAIL_MAX_BATCH_BYTES);
        if ((r = depth_scan(buf, len, err)) < 0)
                return r;
        root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return rp_err_set(err, -EINVAL, "failure batch: invalid JSON at byte %d: %s",
                                  je.position, je.text);
        if (!json_is_object(root)) {
                r = rp_err_set(err, -EINVAL, "failure batch: top level is not an object");
                goto out;
        }
        if ((r = check_fields(root, "batch", batch_fields, NULL, err)) < 0)
                goto out;
        if ((r = get_str(root, "batch_id", "batch", true, STR_HEX, FAIL_BATCH_ID_LEN,
                         FAIL_BATCH_ID_LEN, b.batch_id, err)) < 0)
                goto out;
        if ((r = get_int(root, "dropped", "batch", 0, FAIL_MAX_DROPPED, &x, err)) < 0)
                goto out;
        b.dropped = (uint32_t)x;
        if ((r = get_member(root, "events", "batch", &events, err)) < 0)
                goto out;
        if (!json_is_array(events)) {
                r = rp_err_set(err, -EINVAL, "batch: field 'events' is not an array");
                goto out;
        }
        if (json_array_size(events) == 0 || json_array_size(events) > FAIL_MAX_BATCH_EVENTS) {
                r = rp_err_set(err, json_array_size(events) ? -E2BIG : -EINVAL,
                               "batch: %zu events, the range is 1..%d", json_array_size(events),
                               FAIL_MAX_BATCH_EVENTS);
                goto out;
        }
        b.events = calloc(json_array_size(events), sizeof(*b.events));
        if (!b.events) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < json_array_size(events); i++) {
                char w[32];
                snprintf(w, sizeof(w), "events[%zu]", i);
                if ((r = fail_event_from_json(json_array_get(events, i), w, &b.events[i], err)) < 0)
                        goto out;
                b.nevents++;
        }
        *ret = b;
        json_decref(root);
        return 0;
out:
        fail_batch_free(&b);
        json_decref(root);
        return r;
}

int fail_batch_build(const char *batch_id, uint32_t dropped, const struct fail_event *events,
                     size_t nevents, char **ret_json, size_t *ret_len, struct rp_err *err)
{
        json_t *root = NULL, *arr = NULL;
        char *s;
        int r;

        if (!batch_id || !fail_batch_id_valid(batch_id))
                return rp_err_set(err, -EINVAL, "batch id is not %d lowercase hex digits",
                                  FAIL_BATCH_ID_LEN);
        if (nevents == 0 || nevents > FAIL_MAX_BATCH_EVENTS)
                return rp_err_set(err, -E2BIG, "batch of %zu events, the range is 1..%d", nevents,
                                  FAIL_MAX_BATCH_EVENTS);
        root = json_object();
        arr = json_array();
        if (!root || !arr || set_new(root, "batch_id", json_string(batch_id)) ||
            set_new(root, "dropped", json_integer(dropped))) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < nevents; i++) {
                json_t *e;
                if ((r = fail_event_to_json(&events[i], &e, err)) < 0) {
                        rp_err_prefix(err, "events[%zu]", i);
                        goto out;
                }
                if (json_array_append_new(arr, e) != 0) {
                        r = rp_err_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
        }
        if (json_object_set_new(root, "events", arr) != 0) {
                arr = NULL;
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        arr = NULL;
        s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s) {
                r = rp_err_set(err, -ENOMEM, "out of memory serializing the batch");
                goto out;
        }
        if (strlen(s) > FAIL_MAX_BATCH_BYTES) {
                r = rp_err_set(err, -E2BIG, "batch serializes to %zu bytes, the limit is %d",
                               strlen(s), FAIL_MAX_BATCH_BYTES);
                free(s);
                goto out;
        }
        *ret_len = strlen(s);
        *ret_json = s;
        r = 0;
out:
        json_decref(arr);
        json_decref(root);
        return r;
}
