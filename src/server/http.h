/* http.h - the request framework of rampart-server: route table, request
 * accessors, JSON replies, authentication, paging and the audit trail.
 *
 * A module (one file per entity: tenants.c, tokens.c, products.c, ...)
 * exports one `struct srv_route_set` listing its routes; routes.c lists the
 * sets. The framework does everything around a handler: TLS, limits,
 * timeouts, rate limiting, route matching, authentication and role checks,
 * body size checks, metrics, the one-line request log and the audit record
 * of every state-changing call. A handler only reads the request, talks to
 * the store and sends exactly one reply.
 *
 * Trust: everything a request carries (path, query, headers, body) is
 * untrusted; the authenticated identity (srv_req_tenant/role/token) comes
 * from the token store and is trusted. Handlers never take a tenant id from
 * the request for tenant-scoped data: they use srv_req_tenant().
 *
 * Lifetimes: every pointer a srv_req_* accessor returns is borrowed and
 * valid until the handler returns. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/err.h"

struct srv;
struct srv_req;
struct store;
struct cr_cert;

/* ---- named limits ---- */
#define SRV_MAX_BODY (64 * 1024)            /* default per-route body cap */
#define SRV_MAX_BODY_LARGE (8 * 1024 * 1024) /* cap for bulk routes (imports) */
#define SRV_MAX_HEADERS (16 * 1024)         /* request line + all headers */
#define SRV_MAX_PATH 1024
#define SRV_MAX_PARAMS 4                    /* {params} in one pattern */
#define SRV_MAX_PARAM_LEN 128
#define SRV_MAX_ROUTES 256
#define SRV_PAGE_DEFAULT 50
#define SRV_PAGE_MAX 500
#define SRV_JSON_MAX_DEPTH 16               /* nesting accepted in bodies */

/* Who may call a route. Tenant levels are ordered: a token of role R may
 * call a route that needs level L when R >= L. Platform tokens (the
 * bootstrap operator) may call only SRV_AUTH_PLATFORM, SRV_AUTH_ANY and
 * SRV_AUTH_ADMIN_OR_PLATFORM routes; tenant tokens never call platform
 * routes. Failures: no/malformed/unknown/revoked/expired token -> 401
 * "unauthenticated"; valid token with too low a role or the wrong kind ->
 * 403 "forbidden". */
enum srv_auth {
        SRV_AUTH_NONE = 0,              /* public: /healthz, /metrics */
        SRV_AUTH_READER,                /* tenant token, role >= reader */
        SRV_AUTH_CONTRIBUTOR,           /* tenant token, role >= contributor */
        SRV_AUTH_ADMIN,                 /* tenant token, role admin */
        SRV_AUTH_PLATFORM,              /* platform operator token */
        SRV_AUTH_ADMIN_OR_PLATFORM,     /* tenant admin (own tenant) or platform (all) */
        SRV_AUTH_ANY,                   /* any valid token (whoami) */
        SRV_AUTH_DEVICE,                /* TLS client certificate (mTLS); the
                                           handler verifies it against the
                                           tenant CA with srv_req_peer_cert() */
};

/* Token roles as stored. Order matters (see above). */
enum srv_role {
        SRV_ROLE_NONE = 0,
        SRV_ROLE_READER = 1,
        SRV_ROLE_CONTRIBUTOR = 2,
        SRV_ROLE_ADMIN = 3,
        SRV_ROLE_PLATFORM = 10,
};
const char *srv_role_name(enum srv_role r);           /* "reader", ... */
int srv_role_parse(const char *s, enum srv_role *ret); /* tenant roles only */
const char *srv_auth_name(enum srv_auth a);           /* "reader", "platform", ... */

typedef void (*srv_handler)(struct srv_req *r);

struct srv_route {
        const char *method;     /* "GET", "POST", "PUT", "PATCH", "DELETE" */
        /* Absolute path; a segment "{name}" captures one path segment
         * (percent-decoded, 1..SRV_MAX_PARAM_LEN bytes, no '/' or NUL). */
        const char *pattern;
        enum srv_auth auth;
        srv_handler handler;
        /* Stable name "<entity>.<verb>" (e.g. "token.create"): the metrics
         * label, the audit action and the operationId in the OpenAPI doc. */
        const char *name;
        size_t max_body;        /* 0 = SRV_MAX_BODY */
};

struct srv_route_set {
        const struct srv_route *routes;
        size_t n;
};
#define SRV_ROUTE_SET(arr) { (arr), sizeof(arr) / sizeof((arr)[0]) }

/* ---- request accessors ---- */
const char *srv_req_method(const struct srv_req *r);
const char *srv_req_path(const struct srv_req *r);          /* without query */
const struct srv_route *srv_req_route(const struct srv_req *r);
/* A {param} of the matched pattern; NULL when the pattern has no such name. */
const char *srv_req_param(const struct srv_req *r, const char *name);
/* A decoded query parameter; NULL when absent. */
const char *srv_req_query(const struct srv_req *r, const char *name);
const char *srv_req_header(const struct srv_req *r, const char *name);
/* Raw body bytes (NUL-terminated, not counted); len 0 when none. */
const uint8_t *srv_req_body(const struct srv_req *r, size_t *ret_len);
/* Client address as text ("127.0.0.1", "::1"). */
const char *srv_req_peer(const struct srv_req *r);

/* Authenticated identity (set before the handler runs; see enum srv_auth).
 * tenant is NULL for platform tokens and unauthenticated routes. */
const char *srv_req_tenant(const struct srv_req *r);
enum srv_role srv_req_role(const struct srv_req *r);
const char *srv_req_token_id(const struct srv_req *r);
bool srv_req_is_platform(const struct srv_req *r);
/* The TLS client certificate (SRV_AUTH_DEVICE routes): new reference the
 * caller frees with cr_cert_free; -ENOENT when none was presented. The
 * certificate chain is NOT verified by the TLS layer. */
int srv_req_peer_cert(const struct srv_req *r, struct cr_cert **ret) RP_WUR;

struct srv *srv_req_server(const struct srv_req *r);
struct store *srv_req_store(const struct srv_req *r);

/* ---- JSON bodies ----
 * Field spec for srv_req_json(): the body must be one JSON object; unknown
 * members, missing required members, wrong types, strings longer than
 * max_len bytes, and (with SRV_F_NAME) control characters are refused with
 * 400 and a message naming the member and the problem. jansson already
 * refuses invalid UTF-8, lone surrogates and \u0000. */
enum srv_field_type {
        SRV_F_STRING,
        SRV_F_INT,              /* JSON integer */
        SRV_F_BOOL,
        SRV_F_OBJECT,
        SRV_F_ARRAY,
};
enum {
        SRV_F_REQUIRED = 1 << 0,
        SRV_F_NAME = 1 << 1,     /* string: non-empty, no control chars, no leading/trailing space */
        SRV_F_NULLABLE = 1 << 2, /* JSON null accepted (treated as absent) */
};
struct srv_field {
        const char *name;
        enum srv_field_type type;
        unsigned flags;
        size_t max_len;         /* strings: max bytes (0 = SRV_MAX_PARAM_LEN) */
};
/* Parses and validates the body. On success *ret is a new reference the
 * caller releases with json_decref (or _cleanup_(json_decrefp)). On
 * failure the error reply (400 / 415) has been sent and -EINVAL returned:
 * the handler just returns. */
int srv_req_json(struct srv_req *r, const struct srv_field *fields, size_t n_fields,
                 json_t **ret) RP_WUR;
#define SRV_FIELDS(arr) (arr), (sizeof(arr) / sizeof((arr)[0]))
/* The same checks on a buffer, without a request (tests, fuzzing, bodies
 * that arrive another way): 0 with *ret set, or -EINVAL with a message. */
int srv_json_check(const uint8_t *body, size_t len, const struct srv_field *fields,
                   size_t n_fields, json_t **ret, struct rp_err *err) RP_WUR;

/* jansson provides json_decrefp() for _cleanup_(json_decrefp). */

/* ---- paging: ?limit=N&cursor=C ----
 * Cursors are opaque to clients; the store uses an increasing sequence
 * number. Bad values get 400 (sent; returns -EINVAL). */
struct srv_page {
        size_t limit;           /* 1..SRV_PAGE_MAX, default SRV_PAGE_DEFAULT */
        int64_t after;          /* 0 = from the start */
};
int srv_req_page(struct srv_req *r, struct srv_page *ret) RP_WUR;
/* Sends 200 {"items": items, "next_cursor": "<next>" | null}; steals the
 * reference to items. next <= 0 means no further page. */
void srv_reply_page(struct srv_req *r, json_t *items, int64_t next);

/* ---- replies: a handler sends exactly one ---- */
/* Steals the reference to body. */
void srv_reply_json(struct srv_req *r, int status, json_t *body);
void srv_reply_text(struct srv_req *r, int status, const char *content_type,
                    const void *data, size_t len);
void srv_reply_empty(struct srv_req *r, int status);   /* 204 and friends */
/* {"error":{"code":code,"message":msg}}. Codes are stable snake_case:
 * bad_request, unauthenticated, forbidden, not_found, conflict,
 * payload_too_large, unsupported_media_type, rate_limited, internal, ... */
void srv_reply_error(struct srv_req *r, int status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Maps a negative errno + message to a status/code: -ENOENT 404 not_found,
 * -EEXIST 409 conflict, -EINVAL/-EBADMSG/-ERANGE 400 bad_request, -EPERM
 * /-EACCES 403 forbidden, -EFBIG 413, -EBUSY 503 unavailable, other 500
 * internal (message logged, generic text sent). */
void srv_reply_err(struct srv_req *r, const struct rp_err *err);

/* ---- audit ----
 * The framework writes one audit record for every authenticated non-GET
 * request after the handler replied: actor token, tenant, route name,
 * method, path, status, time and the error message on failure. Handlers add
 * what the path does not say: */
void srv_audit_target(struct srv_req *r, const char *id);            /* e.g. a new object id */
void srv_audit_detail(struct srv_req *r, const char *fmt, ...)        /* short, no secrets */
        __attribute__((format(printf, 2, 3)));

/* ---- ids ---- */
/* "<prefix>_" + 32 lowercase hex chars from 16 random bytes; buf must hold
 * SRV_ID_BUF bytes. */
#define SRV_ID_BUF 48
int srv_new_id(const char *prefix, char buf[SRV_ID_BUF]) RP_WUR;
/* True for strings shaped like srv_new_id(prefix) output. */
bool srv_id_valid(const char *prefix, const char *s);

/* ---- time ---- */
int64_t srv_now_ms(void);
/* RFC 3339 UTC with seconds ("2026-11-28T15:04:05Z"); buf >= 32 bytes. */
void srv_time_fmt(int64_t ms, char buf[32]);
/* Parses RFC 3339 ("...Z" or "+hh:mm"); -EINVAL otherwise. */
int srv_time_parse(const char *s, int64_t *ret_ms) RP_WUR;
/* json string of srv_time_fmt, or json null for ms <= 0. */
json_t *srv_json_time(int64_t ms);
