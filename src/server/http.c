/* http.c - the request framework (see http.h): route matching,
 * authentication and role checks, body and query handling, replies, the
 * audit record and the per-request log line and metrics. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/log.h"
#include "server/auth.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "store/audit.h"
#include "store/tokens.h"

/* ---- names ---- */

const char *srv_role_name(enum srv_role r)
{
        switch (r) {
        case SRV_ROLE_READER: return "reader";
        case SRV_ROLE_CONTRIBUTOR: return "contributor";
        case SRV_ROLE_ADMIN: return "admin";
        case SRV_ROLE_PLATFORM: return "platform";
        default: return "none";
        }
}

int srv_role_parse(const char *s, enum srv_role *ret)
{
        if (!s)
                return -EINVAL;
        if (!strcmp(s, "reader"))
                *ret = SRV_ROLE_READER;
        else if (!strcmp(s, "contributor"))
                *ret = SRV_ROLE_CONTRIBUTOR;
        else if (!strcmp(s, "admin"))
                *ret = SRV_ROLE_ADMIN;
        else
                return -EINVAL;
        return 0;
}

const char *srv_auth_name(enum srv_auth a)
{
        switch (a) {
        case SRV_AUTH_NONE: return "none";
        case SRV_AUTH_READER: return "reader";
        case SRV_AUTH_CONTRIBUTOR: return "contributor";
        case SRV_AUTH_ADMIN: return "admin";
        case SRV_AUTH_PLATFORM: return "platform";
        case SRV_AUTH_ADMIN_OR_PLATFORM: return "admin_or_platform";
        case SRV_AUTH_ANY: return "any";
        case SRV_AUTH_DEVICE: return "device";
        }
        return "?";
}

/* ---- ids and time ---- */

int srv_new_id(const char *prefix, char buf[SRV_ID_BUF])
{
        uint8_t rnd[16];
        char hex[33];
        size_t pl = strlen(prefix);
        if (pl == 0 || pl + 1 + 32 + 1 > SRV_ID_BUF)
                return -EINVAL;
        if (cr_random(rnd, sizeof(rnd)) < 0)
                return -EIO;
        rp_hex_encode(rnd, sizeof(rnd), hex);
        snprintf(buf, SRV_ID_BUF, "%s_%s", prefix, hex);
        return 0;
}

bool srv_id_valid(const char *prefix, const char *s)
{
        if (!s)
                return false;
        size_t pl = strlen(prefix);
        if (strncmp(s, prefix, pl) || s[pl] != '_' || strlen(s + pl + 1) != 32)
                return false;
        for (const char *p = s + pl + 1; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int64_t srv_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void srv_time_fmt(int64_t ms, char buf[32])
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *srv_json_time(int64_t ms)
{
        if (ms <= 0)
                return json_null();
        char b[32];
        srv_time_fmt(ms, b);
        return json_string(b);
}

static bool digits(const char *p, int n)
{
        for (int i = 0; i < n; i++)
                if (p[i] < '0' || p[i] > '9')
                        return false;
        return true;
}

int srv_time_parse(const char *s, int64_t *ret_ms)
{
        /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm) */
        if (!s || strlen(s) < 20 || strlen(s) > 40 || !digits(s, 4) || s[4] != '-' ||
            !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
            (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' ||
            !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
                return -EINVAL;
        struct tm tm = {0};
        tm.tm_year = atoi(s) - 1900;
        tm.tm_mon = atoi(s + 5) - 1;
        tm.tm_mday = atoi(s + 8);
        tm.tm_hour = atoi(s + 11);
        tm.tm_min = atoi(s + 14);
        tm.tm_sec = atoi(s + 17);
        if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
            tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
                return -EINVAL;
        const char *p = s + 19;
        int64_t frac_ms = 0;
        if (*p == '.') {
                p++;
                int n = 0, scale = 100;
                while (*p >= '0' && *p <= '9') {
                        if (n < 3)
                                frac_ms += (*p - '0') * scale;
                        scale /= 10;
                        n++;
                        p++;
                }
                if (n == 0 || n > 9)
                        return -EINVAL;
        }
        int off = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if ((*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2)) {
                int h = atoi(p + 1), m = atoi(p + 4);
                if (h > 23 || m > 59)
                        return -EINVAL;
                off = (h * 60 + m) * 60 * (*p == '+' ? 1 : -1);
                p += 6;
        } else {
                return -EINVAL;
        }
        if (*p)
                return -EINVAL;
        int mday = tm.tm_mday, mon = tm.tm_mon;
        time_t t = timegm(&tm);         /* normalises tm in place */
        if (t == (time_t)-1)
                return -EINVAL;
        /* reject dates that do not exist, such as February 31st */
        if (tm.tm_mday != mday || tm.tm_mon != mon)
                return -EINVAL;
        *ret_ms = ((int64_t)t - off) * 1000 + frac_ms;
        return 0;
}

/* ---- accessors ---- */

const char *srv_req_method(const struct srv_req *r) { return r->method; }
const char *srv_req_path(const struct srv_req *r) { return r->path; }
const struct srv_route *srv_req_route(const struct srv_req *r) { return r->route; }
const char *srv_req_peer(const struct srv_req *r) { return r->peer; }
const char *srv_req_tenant(const struct srv_req *r) { return r->tenant[0] ? r->tenant : NULL; }
enum srv_role srv_req_role(const struct srv_req *r) { return r->role; }
const char *srv_req_token_id(const struct srv_req *r) { return r->token_id[0] ? r->token_id : NULL; }
bool srv_req_is_platform(const struct srv_req *r) { return r->role == SRV_ROLE_PLATFORM; }
struct srv *srv_req_server(const struct srv_req *r) { return r->srv; }
struct store *srv_req_store(const struct srv_req *r) { return r->srv->store; }

const char *srv_req_param(const struct srv_req *r, const char *name)
{
        size_t n = strlen(name);
        for (size_t i = 0; i < r->n_params; i++)
                if (r->params[i].name_len == n && !memcmp(r->params[i].name, name, n))
                        return r->params[i].value;
        return NULL;
}

const char *srv_req_query(const struct srv_req *r, const char *name)
{
        if (!r->has_query)
                return NULL;
        return evhttp_find_header(&((struct srv_req *)r)->query, name);
}

const char *srv_req_header(const struct srv_req *r, const char *name)
{
        return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const uint8_t *srv_req_body(const struct srv_req *r, size_t *ret_len)
{
        *ret_len = r->body_len;
        return r->body ? r->body : (const uint8_t *)"";
}

int srv_req_peer_cert(const struct srv_req *r, struct cr_cert **ret)
{
        if (!r->conn || !r->conn->ssl)
                return -ENOENT;
        return cr_tls_peer_cert(r->conn->ssl, ret);
}

/* ---- replies ---- */

static void reply_set(struct srv_req *r, int status, const char *ctype)
{
        if (r->replied) {
                /* A handler bug: keep the first reply, say so in the log. */
                rp_error("server", "route %s replied twice (kept %d, dropped %d)",
                         r->route ? r->route->name : "-", r->status, status);
                return;
        }
        r->replied = true;
        r->status = status;
        r->content_type = ctype;
}

void srv_reply_json(struct srv_req *r, int status, json_t *body)
{
        if (r->replied) {
                reply_set(r, status, NULL);
                json_decref(body);
                return;
        }
        char *txt = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        json_decref(body);
        if (!txt) {
                reply_set(r, 500, "application/json");
                evbuffer_add_printf(r->out, "{\"error\":{\"code\":\"internal\",\"message\":"
                                            "\"could not encode the reply\"}}");
                return;
        }
        reply_set(r, status, "application/json");
        evbuffer_add(r->out, txt, strlen(txt));
        evbuffer_add(r->out, "\n", 1);
        free(txt);
}

void srv_reply_text(struct srv_req *r, int status, const char *content_type, const void *data,
                    size_t len)
{
        if (r->replied)
                return reply_set(r, status, NULL);
        reply_set(r, status, content_type);
        evbuffer_add(r->out, data, len);
}

void srv_reply_empty(struct srv_req *r, int status)
{
        reply_set(r, status, NULL);
}

static void reply_error_msg(struct srv_req *r, int status, const char *code, const char *msg)
{
        if (status >= 400 && !r->replied)
                snprintf(r->err_msg, sizeof(r->err_msg), "%s", msg);
        json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
        srv_reply_json(r, status, j);
}

void srv_reply_error(struct srv_req *r, int status, const char *code, const char *fmt, ...)
{
        char msg[RP_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        reply_error_msg(r, status, code, msg);
}

void srv_reply_err(struct srv_req *r, const struct rp_err *err)
{
        int code = err ? err->code : -EIO;
        const char *msg = err && err->msg[0] ? err->msg : "operation failed";
        switch (code) {
        case -ENOENT:
                return reply_error_msg(r, 404, "not_found", msg);
        case -EEXIST:
        case -EALREADY:
                return reply_error_msg(r, 409, "conflict", msg);
        case -EINVAL:
        case -EBADMSG:
        case -ERANGE:
        case -EOVERFLOW:
                return reply_error_msg(r, 400, "bad_request", msg);
        case -EPERM:
        case -EACCES:
                return reply_error_msg(r, 403, "forbidden", msg);
        case -EFBIG:
                return reply_error_msg(r, 413, "payload_too_large", msg);
        case -EBUSY:
                return reply_error_msg(r, 503, "unavailable", msg);
        default:
                rp_error("server", "route %s: %s", r->route ? r->route->name : "-", msg);
                snprintf(r->err_msg, sizeof(r->err_msg), "%s", msg);
                json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", "internal", "message",
                                      "internal error; see the server log");
                srv_reply_json(r, 500, j);
        }
}

void srv_audit_target(struct srv_req *r, const char *id)
{
        snprintf(r->audit_target, sizeof(r->audit_target), "%s", id ? id : "");
}

void srv_audit_detail(struct srv_req *r, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->audit_detail, sizeof(r->audit_detail), fmt, ap);
        va_end(ap);
}

/* ---- JSON bodies ---- */

static int json_depth(json_t *j, int depth)
{
        if (depth > SRV_JSON_MAX_DEPTH)
                return -1;
        if (json_is_object(j)) {
                const char *k;
                json_t *v;
                json_object_foreach(j, k, v)
                        if (json_depth(v, depth + 1) < 0)
                                return -1;
        } else if (json_is_array(j)) {
                size_t i;
                json_t *v;
                json_array_foreach(j, i, v)
                        if (json_depth(v, depth + 1) < 0)
                                return -1;
        }
        return 0;
}

/* Decodes one UTF-8 sequence (jansson has validated the encoding). */
static uint32_t utf8_next(const unsigned char **pp)
{
        const unsigned char *p = *pp;
        uint32_t c = *p++;
        int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        if (extra)
                c &= 0x3f >> extra;
        while (extra-- && *p)
                c = (c << 6) | (*p++ & 0x3f);
        *pp = p;
        return c;
}

/* Names shown to people: no control characters (C0, DEL, C1), no bidi
 * embedding/override/isolate controls, no line/paragraph separators or
 * BOM, no surrounding white space. */
static const char *name_problem(const char *s)
{
        if (!*s)
                return "is empty";
        if (*s == ' ' || s[strlen(s) - 1] == ' ')
                return "has leading or trailing spaces";
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                uint32_t c = utf8_next(&p);
                if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f))
                        return "contains a control character";
                if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
                    c == 0x200e || c == 0x200f || c == 0x061c)
                        return "contains a bidirectional text control";
                if (c == 0x2028 || c == 0x2029 || c == 0xfeff)
                        return "contains a line separator or byte order mark";
        }
        return NULL;
}

static const char *type_name(enum srv_field_type t)
{
        switch (t) {
        case SRV_F_STRING: return "a string";
        case SRV_F_INT: return "an integer";
        case SRV_F_BOOL: return "a boolean";
        case SRV_F_OBJECT: return "an object";
        case SRV_F_ARRAY: return "an array";
        }
        return "?";
}

static bool type_ok(json_t *v, enum srv_field_type t)
{
        switch (t) {
        case SRV_F_STRING: return json_is_string(v);
        case SRV_F_INT: return json_is_integer(v);
        case SRV_F_BOOL: return json_is_boolean(v);
        case SRV_F_OBJECT: return json_is_object(v);
        case SRV_F_ARRAY: return json_is_array(v);
        }
        return false;
}

int srv_json_check(const uint8_t *body, size_t len, const struct srv_field *fields,
                   size_t n_fields, json_t **ret, struct rp_err *err)
{
        if (len == 0)
                return rp_err_set(err, -EINVAL, "request body is empty; expected a JSON object");
        json_error_t je;
        json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
        if (!j)
                return rp_err_set(err, -EINVAL, "invalid JSON at line %d column %d: %s", je.line,
                                  je.column, je.text);
        if (!json_is_object(j)) {
                json_decref(j);
                return rp_err_set(err, -EINVAL, "request body must be a JSON object");
        }
        if (json_depth(j, 0) < 0) {
                json_decref(j);
                return rp_err_set(err, -EINVAL, "JSON nested deeper than %d levels",
                                  SRV_JSON_MAX_DEPTH);
        }
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
                size_t i;
                for (i = 0; i < n_fields; i++)
                        if (!strcmp(fields[i].name, k))
                                break;
                if (i == n_fields) {
                        int r = rp_err_set(err, -EINVAL, "unknown field '%.60s'", k);
                        json_decref(j);
                        return r;
                }
        }
        for (size_t i = 0; i < n_fields; i++) {
                const struct srv_field *f = &fields[i];
                v = json_object_get(j, f->name);
                if (v && json_is_null(v) && (f->flags & SRV_F_NULLABLE)) {
                        json_object_del(j, f->name);
                        v = NULL;
                }
                if (!v) {
                        if (f->flags & SRV_F_REQUIRED) {
                                json_decref(j);
                                return rp_err_set(err, -EINVAL, "missing field '%s'", f->name);
                        }
                        continue;
                }
                if (!type_ok(v, f->type)) {
                        json_decref(j);
                        return rp_err_set(err, -EINVAL, "field '%s' must be %s", f->name,
                                          type_name(f->type));
                }
                if (f->type == SRV_F_STRING) {
                        size_t max = f->max_len ? f->max_len : SRV_MAX_PARAM_LEN;
                        size_t slen = json_string_length(v);
                        if (slen > max) {
                                json_decref(j);
                                return rp_err_set(err, -EINVAL,
                                                  "field '%s' is %zu bytes long, the limit is %zu",
                                                  f->name, slen, max);
                        }
                        const char *p;
                        if ((f->flags & SRV_F_NAME) && (p = name_problem(json_string_value(v)))) {
                                json_decref(j);
                                return rp_err_set(err, -EINVAL, "field '%s' %s", f->name, p);
                        }
                }
        }
        *ret = j;
        return 0;
}

int srv_req_json(struct srv_req *r, const struct srv_field *fields, size_t n_fields, json_t **ret)
{
        const char *ct = srv_req_header(r, "Content-Type");
        if (!ct || (strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';' && ct[16] != ' '))) {
                srv_reply_error(r, 415, "unsupported_media_type",
                                "request body must be application/json (got '%.60s')",
                                ct ? ct : "no Content-Type");
                return -EINVAL;
        }
        struct rp_err err = {0};
        int k = srv_json_check(r->body, r->body_len, fields, n_fields, ret, &err);
        if (k < 0) {
                srv_reply_error(r, 400, "bad_request", "%s", err.msg);
                return k;
        }
        return 0;
}

/* ---- paging ---- */

static int parse_u64(const char *s, size_t maxdigits, uint64_t *ret)
{
        size_t n = strlen(s);
        if (n == 0 || n > maxdigits)
                return -EINVAL;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *ret = v;
        return 0;
}

int srv_req_page(struct srv_req *r, struct srv_page *ret)
{
        struct srv_page p = {.limit = SRV_PAGE_DEFAULT, .after = 0};
        const char *l = srv_req_query(r, "limit"), *c = srv_req_query(r, "cursor");
        uint64_t v;
        if (l) {
                if (parse_u64(l, 4, &v) < 0 || v < 1 || v > SRV_PAGE_MAX) {
                        srv_reply_error(r, 400, "bad_request",
                                        "query 'limit' must be an integer from 1 to %d (got '%.40s')",
                                        SRV_PAGE_MAX, l);
                        return -EINVAL;
                }
                p.limit = (size_t)v;
        }
        if (c) {
                if (parse_u64(c, 18, &v) < 0 || v < 1) {
                        srv_reply_error(r, 400, "bad_request", "query 'cursor' is not a cursor this "
                                        "server returned (got '%.40s')", c);
                        return -EINVAL;
                }
                p.after = (int64_t)v;
        }
        *ret = p;
        return 0;
}

void srv_reply_page(struct srv_req *r, json_t *items, int64_t next)
{
        json_t *o = json_object();
        json_object_set_new(o, "items", items);
        if (next > 0) {
                char b[24];
                snprintf(b, sizeof(b), "%lld", (long long)next);
                json_object_set_new(o, "next_cursor", json_string(b));
        } else {
                json_object_set_new(o, "next_cursor", json_null());
        }
        srv_reply_json(r, 200, o);
}

/* ---- routing ---- */

int srv_routes_compile(struct srv *s, struct rp_err *err)
{
        size_t n = 0;
        for (const struct srv_route_set *const *set = srv_route_sets; *set; set++)
                n += (*set)->n;
        if (n > SRV_MAX_ROUTES)
                return rp_err_set(err, -E2BIG, "%zu routes, the limit is %d", n, SRV_MAX_ROUTES);
        s->routes = calloc(n ? n : 1, sizeof(*s->routes));
        if (!s->routes)
                return rp_err_set(err, -ENOMEM, "out of memory");
        s->max_body = SRV_MAX_BODY;
        size_t i = 0;
        for (const struct srv_route_set *const *set = srv_route_sets; *set; set++) {
                for (size_t k = 0; k < (*set)->n; k++, i++) {
                        const struct srv_route *rt = &(*set)->routes[k];
                        struct srv_compiled_route *c = &s->routes[i];
                        c->route = rt;
                        if (rt->pattern[0] != '/' || strlen(rt->pattern) >= sizeof(c->buf))
                                return rp_err_set(err, -EINVAL, "route %s: bad pattern '%s'",
                                                  rt->name, rt->pattern);
                        size_t max = rt->max_body ? rt->max_body : SRV_MAX_BODY;
                        if (max > SRV_MAX_BODY_LARGE)
                                return rp_err_set(err, -EINVAL, "route %s: max_body %zu over %d",
                                                  rt->name, max, SRV_MAX_BODY_LARGE);
                        if (max > s->max_body)
                                s->max_body = max;
                        snprintf(c->buf, sizeof(c->buf), "%s", rt->pattern + 1);
                        size_t params = 0;
                        char *p = c->buf;
                        for (;;) {
                                if (c->n_seg == ARRAY_SIZE(c->seg))
                                        return rp_err_set(err, -EINVAL, "route %s: too many segments",
                                                          rt->name);
                                char *slash = strchr(p, '/');
                                c->seg[c->n_seg] = p;
                                c->seg_len[c->n_seg] = slash ? (size_t)(slash - p) : strlen(p);
                                if (c->seg_len[c->n_seg] && p[0] == '{')
                                        params++;
                                c->n_seg++;
                                if (!slash)
                                        break;
                                p = slash + 1;
                        }
                        if (params > SRV_MAX_PARAMS)
                                return rp_err_set(err, -EINVAL, "route %s: more than %d params",
                                                  rt->name, SRV_MAX_PARAMS);
                        for (size_t j = 0; j < i; j++)
                                if (!strcmp(s->routes[j].route->pattern, rt->pattern) &&
                                    !strcmp(s->routes[j].route->method, rt->method))
                                        return rp_err_set(err, -EEXIST, "route %s %s registered twice",
                                                          rt->method, rt->pattern);
                }
        }
        s->n_routes = n;
        return 0;
}

/* 1 = match (params filled), 0 = no match, -1 = a param is malformed. */
static int match(const struct srv_compiled_route *c, const char *path, struct srv_req *r)
{
        const char *p = path + 1;
        size_t np = 0;
        for (size_t i = 0; i < c->n_seg; i++) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t)(slash - p) : strlen(p);
                if (i + 1 < c->n_seg && !slash)
                        return 0;
                if (i + 1 == c->n_seg && slash)
                        return 0;
                if (c->seg_len[i] >= 2 && c->seg[i][0] == '{') {
                        if (len == 0)
                                return 0;
                        if (r) {
                                char raw[SRV_MAX_PATH];
                                memcpy(raw, p, len);
                                raw[len] = 0;
                                size_t dl = 0;
                                char *dec = evhttp_uridecode(raw, 0, &dl);
                                if (!dec)
                                        return -1;
                                if (dl == 0 || dl > SRV_MAX_PARAM_LEN || strlen(dec) != dl ||
                                    strchr(dec, '/')) {
                                        free(dec);
                                        return -1;
                                }
                                struct srv_req_param *pp = &r->params[np];
                                pp->name = c->seg[i] + 1;
                                pp->name_len = c->seg_len[i] - 2;
                                memcpy(pp->value, dec, dl + 1);
                                free(dec);
                        }
                        np++;
                } else if (len != c->seg_len[i] || memcmp(p, c->seg[i], len)) {
                        return 0;
                }
                p = slash ? slash + 1 : p + len;
        }
        if (r)
                r->n_params = np;
        return 1;
}

size_t srv_route_body_limit(const struct srv *s, const char *line, size_t len)
{
        char buf[SRV_MAX_PATH + 32];
        if (len >= sizeof(buf))
                return SRV_MAX_BODY;
        memcpy(buf, line, len);
        buf[len] = 0;
        char *sp = strchr(buf, ' ');
        if (!sp)
                return SRV_MAX_BODY;
        *sp = 0;
        char *path = sp + 1, *end = strpbrk(path, " ?");
        if (!end || path[0] != '/')
                return SRV_MAX_BODY;
        *end = 0;
        for (size_t i = 0; i < s->n_routes; i++) {
                const struct srv_compiled_route *c = &s->routes[i];
                if (!strcmp(c->route->method, buf) && match(c, path, NULL) == 1)
                        return c->route->max_body ? c->route->max_body : SRV_MAX_BODY;
        }
        return SRV_MAX_BODY;
}

/* ---- authentication ---- */

static void deny(struct srv_req *r, int status, const char *msg)
{
        if (status == 401)
                evhttp_add_header(evhttp_request_get_output_headers(r->ev), "WWW-Authenticate",
                                  "Bearer realm=\"rampart\"");
        reply_error_msg(r, status, status == 401 ? "unauthenticated" : "forbidden", msg);
}

/* Returns 0 when the request may proceed; otherwise the reply is set. */
static int authenticate(struct srv_req *r)
{
        enum srv_auth need = r->route->auth;
        if (need == SRV_AUTH_NONE)
                return 0;
        if (need == SRV_AUTH_DEVICE) {
                struct cr_cert *c = NULL;
                if (srv_req_peer_cert(r, &c) < 0) {
                        deny(r, 401, "this route needs a TLS client certificate");
                        return -1;
                }
                cr_cert_free(c);
                return 0;
        }
        const char *h = srv_req_header(r, "Authorization");
        if (!h) {
                deny(r, 401, "missing 'Authorization: Bearer <token>' header");
                return -1;
        }
        if (strncasecmp(h, "Bearer ", 7)) {
                deny(r, 401, "Authorization header is not a bearer token");
                return -1;
        }
        struct store_token t;
        struct rp_err err = {0};
        int k = srv_auth_lookup(r->srv->store, h + 7, srv_now_ms(), &t, &err);
        if (k == -EIO || k == -EBUSY) {
                srv_reply_err(r, &err);
                return -1;
        }
        if (k < 0) {
                deny(r, 401, err.msg);
                return -1;
        }
        r->authenticated = true;
        snprintf(r->tenant, sizeof(r->tenant), "%s", t.tenant_id);
        snprintf(r->token_id, sizeof(r->token_id), "%s", t.id);
        r->role = (enum srv_role)t.role;
        bool platform = r->role == SRV_ROLE_PLATFORM;
        switch (need) {
        case SRV_AUTH_READER:
        case SRV_AUTH_CONTRIBUTOR:
        case SRV_AUTH_ADMIN: {
                enum srv_role want = need == SRV_AUTH_READER      ? SRV_ROLE_READER
                                     : need == SRV_AUTH_CONTRIBUTOR ? SRV_ROLE_CONTRIBUTOR
                                                                    : SRV_ROLE_ADMIN;
                if (platform) {
                        deny(r, 403, "platform operator tokens cannot call tenant routes");
                        return -1;
                }
                if (r->role < want) {
                        char m[160];
                        snprintf(m, sizeof(m), "this route needs role '%s', the token has '%s'",
                                 srv_role_name(want), srv_role_name(r->role));
                        deny(r, 403, m);
                        return -1;
                }
                return 0;
        }
        case SRV_AUTH_PLATFORM:
                if (!platform) {
                        deny(r, 403, "this route is for the platform operator");
                        return -1;
                }
                return 0;
        case SRV_AUTH_ADMIN_OR_PLATFORM:
                if (!platform && r->role != SRV_ROLE_ADMIN) {
                        deny(r, 403, "this route needs role 'admin'");
                        return -1;
                }
                return 0;
        case SRV_AUTH_ANY:
                return 0;
        default:
                deny(r, 403, "route has an unknown access rule");
                return -1;
        }
}

/* ---- dispatch ---- */

static const char *method_name(enum evhttp_cmd_type c)
{
        switch (c) {
        case EVHTTP_REQ_GET: return "GET";
        case EVHTTP_REQ_POST: return "POST";
        case EVHTTP_REQ_PUT: return "PUT";
        case EVHTTP_REQ_PATCH: return "PATCH";
        case EVHTTP_REQ_DELETE: return "DELETE";
        case EVHTTP_REQ_HEAD: return "HEAD";
        case EVHTTP_REQ_OPTIONS: return "OPTIONS";
        case EVHTTP_REQ_TRACE: return "TRACE";
        default: return "OTHER";
        }
}

static void route_request(struct srv *s, struct srv_req *r)
{
        unsigned retry = 0;
        if (!srv_rate_allow(s, r->peer, &retry)) {
                char b[16];
                snprintf(b, sizeof(b), "%u", retry);
                evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Retry-After", b);
                srv_reply_error(r, 429, "rate_limited",
                                "too many requests from %s; retry after %u s", r->peer, retry);
                return;
        }
        const char *uri = evhttp_request_get_uri(r->ev);
        const char *q = strchr(uri, '?');
        size_t plen = q ? (size_t)(q - uri) : strlen(uri);
        if (plen == 0 || plen > SRV_MAX_PATH || uri[0] != '/') {
                srv_reply_error(r, plen > SRV_MAX_PATH ? 414 : 400, "bad_request",
                                "request path must be absolute and at most %d bytes", SRV_MAX_PATH);
                return;
        }
        memcpy(r->path, uri, plen);
        r->path[plen] = 0;
        if (q && q[1]) {
                TAILQ_INIT(&r->query);
                if (evhttp_parse_query_str(q + 1, &r->query) < 0) {
                        evhttp_clear_headers(&r->query);
                        srv_reply_error(r, 400, "bad_request", "malformed query string");
                        return;
                }
                r->has_query = true;
                struct evkeyval *a, *b;
                TAILQ_FOREACH(a, &r->query, next)
                        for (b = TAILQ_NEXT(a, next); b; b = TAILQ_NEXT(b, next))
                                if (!strcmp(a->key, b->key)) {
                                        srv_reply_error(r, 400, "bad_request",
                                                        "query parameter '%.40s' given more than once",
                                                        a->key);
                                        return;
                                }
        }
        bool path_known = false;
        for (size_t i = 0; i < s->n_routes; i++) {
                const struct srv_compiled_route *c = &s->routes[i];
                if (strcmp(c->route->method, r->method)) {
                        if (!path_known && match(c, r->path, NULL) == 1)
                                path_known = true;
                        continue;
                }
                int m = match(c, r->path, r);
                if (m == 0)
                        continue;
                r->route = c->route;
                r->route_idx = i;
                if (m < 0) {
                        srv_reply_error(r, 404, "not_found", "no such object");
                        return;
                }
                break;
        }
        if (!r->route) {
                if (path_known)
                        srv_reply_error(r, 405, "method_not_allowed", "%s is not allowed on '%s'",
                                        r->method, r->path);
                else
                        srv_reply_error(r, 404, "not_found", "no route for '%s'", r->path);
                return;
        }
        if (authenticate(r) < 0)
                return;
        size_t max = r->route->max_body ? r->route->max_body : SRV_MAX_BODY;
        struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
        size_t blen = evbuffer_get_length(in);
        if (blen > max) {
                srv_reply_error(r, 413, "payload_too_large",
                                "request body is %zu bytes, the limit for this route is %zu", blen, max);
                return;
        }
        if (blen) {
                r->body = malloc(blen + 1);
                if (!r->body) {
                        srv_reply_error(r, 503, "unavailable", "out of memory");
                        return;
                }
                evbuffer_remove(in, r->body, blen);
                r->body[blen] = 0;
                r->body_len = blen;
        }
        r->route->handler(r);
        if (!r->replied) {
                rp_error("server", "route %s sent no reply", r->route->name);
                srv_reply_error(r, 500, "internal", "the handler sent no reply");
        }
}

static void write_audit(struct srv *s, struct srv_req *r)
{
        struct store_audit a = {.at_ms = srv_now_ms(), .status = r->status};
        snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", r->tenant);
        snprintf(a.actor, sizeof(a.actor), "%s", r->token_id);
        snprintf(a.action, sizeof(a.action), "%s", r->route->name);
        snprintf(a.method, sizeof(a.method), "%s", r->method);
        snprintf(a.path, sizeof(a.path), "%.*s", (int)sizeof(a.path) - 1, r->path);
        snprintf(a.target, sizeof(a.target), "%s", r->audit_target);
        snprintf(a.detail, sizeof(a.detail), "%s", r->status >= 400 ? r->err_msg : r->audit_detail);
        struct rp_err err = {0};
        if (store_audit_append(s->store, &a, &err) < 0) {
                s->metrics.audit_failures++;
                rp_error("server", "audit record for %s %s not written: %s", r->method, r->path,
                         err.msg);
        }
}

void srv_dispatch(struct srv *s, struct srv_req *r)
{
        int64_t t0 = store_clock_ns();
        r->method = method_name(evhttp_request_get_command(r->ev));
        r->out = evbuffer_new();
        if (!r->out) {
                evhttp_send_error(r->ev, 503, "out of memory");
                return;
        }
        route_request(s, r);

        /* The audit record is durable before the reply leaves. */
        if (r->route && r->authenticated && strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
                write_audit(s, r);

        struct evkeyvalq *oh = evhttp_request_get_output_headers(r->ev);
        if (r->content_type)
                evhttp_add_header(oh, "Content-Type", r->content_type);
        evhttp_add_header(oh, "Cache-Control", "no-store");
        evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
        if (s->draining)
                evhttp_add_header(oh, "Connection", "close");
        evhttp_send_reply(r->ev, r->status, NULL, r->out);
        evbuffer_free(r->out);
        r->out = NULL;
        /* evhttp queued the head and the body as separate buffer chains,
         * which the TLS layer would send as two records in two writes when
         * the socket is next writable; join them so a reply is one record
         * and one write. */
        if (r->conn && r->conn->bev) {
                struct evbuffer *o = bufferevent_get_output(r->conn->bev);
                size_t n = evbuffer_get_length(o);
                if (n && n <= SRV_COALESCE_MAX)
                        evbuffer_pullup(o, -1);
        }

        double secs = (double)(store_clock_ns() - t0) / 1e9;
        srv_metrics_request(&s->metrics, r->route ? r->route_idx : s->n_routes, r->status, secs);
        srv_reqlog(s, "req method=%s route=%s path=%s status=%d dur_ms=%.3f tenant=%s token=%s peer=%s",
                r->method, r->route ? r->route->name : "-", r->path[0] ? r->path : "-", r->status,
                secs * 1000, r->tenant[0] ? r->tenant : "-", r->token_id[0] ? r->token_id : "-",
                r->peer);
        if (r->has_query)
                evhttp_clear_headers(&r->query);
        free(r->body);
        r->body = NULL;
}
