/* srv_int.h - the server's internal structures, shared by http.c (request
 * framework), server.c (process, connections) and metrics. Route modules
 * use http.h only. */
#pragma once
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>

#include "server/http.h"
#include "server/keystore.h"
#include "server/metrics.h"
#include "server/server.h"
#include "store/store.h"

struct ssl_ctx_st;
struct ssl_st;
struct evconnlistener;
struct evhttp_bound_socket;
struct srv_failures;

struct srv_conn {
        struct srv *srv;
        struct bufferevent *bev;
        struct ssl_st *ssl;
        struct event *deadline;         /* the next request must be complete by then */
        bool idle;                      /* between a finished reply and the next request */
        bool line_seen;                 /* the current request's first line was looked at */
        bool large;                     /* holds one of the SRV_MAX_LARGE_UPLOADS slots */
        uint64_t rbytes_at_idle;
        struct srv_conn *prev, *next;
};

/* Split route pattern for matching. */
struct srv_compiled_route {
        const struct srv_route *route;
        size_t n_seg;
        const char *seg[16];            /* pointers into `buf`; "{x}" kept as-is */
        size_t seg_len[16];
        char buf[SRV_MAX_PATH];
};

#define SRV_RATE_SLOTS 8192

struct srv_rate_slot {
        char addr[48];
        double tokens;
        int64_t last_ns;
};

struct srv {
        struct srv_config cfg;
        char data_dir[512];
        char cert_file[600], key_file[600];
        char fpr[96], pin[64];
        struct event_base *base;
        struct evhttp *http;
        struct ssl_ctx_st *tls;
        struct evhttp_bound_socket *bound[SRV_MAX_LISTEN];
        size_t n_bound;
        bool accepting_paused;
        struct event *sig_term, *sig_int, *drain_timer;
        bool draining;
        struct store *store;
        struct srv_keystore keys;
        struct srv_metrics metrics;
        struct srv_compiled_route *routes;
        size_t n_routes;
        size_t max_body;                /* max over routes */
        unsigned large_uploads;         /* connections allowed a body over SRV_MAX_BODY now */
        struct srv_conn *conns;         /* list of open connections */
        unsigned n_conns;
        struct srv_rate_slot *rate;     /* SRV_RATE_SLOTS */
        /* request log lines, written in batches (see srv_reqlog) */
        char *logbuf;
        size_t loglen;
        bool log_requests;
        struct event *log_timer;
        struct srv_failures *failures;  /* failures.c: retention timer, metrics */
};

#define SRV_LOGBUF 65536
/* At most this many requests at once may send a body larger than
 * SRV_MAX_BODY (to a route that allows one): evhttp buffers a whole body
 * before any handler (or authentication) runs, so this bounds that memory
 * to about SRV_MAX_LARGE_UPLOADS x SRV_MAX_BODY_LARGE + connections x 2 x
 * SRV_MAX_BODY. */
#define SRV_MAX_LARGE_UPLOADS 4
#define SRV_COALESCE_MAX (16 * 1024)  /* replies up to this size go out as one TLS record */
#define SRV_LOG_FLUSH_MS 100

struct srv_req_param {
        const char *name;               /* points into the pattern: "{name}" without braces */
        size_t name_len;
        char value[SRV_MAX_PARAM_LEN + 1];
};

struct srv_req {
        struct srv *srv;
        struct evhttp_request *ev;
        struct srv_conn *conn;
        const struct srv_route *route;
        size_t route_idx;
        const char *method;
        char path[SRV_MAX_PATH + 1];
        struct srv_req_param params[SRV_MAX_PARAMS];
        size_t n_params;
        struct evkeyvalq query;
        bool has_query;
        uint8_t *body;
        size_t body_len;
        char peer[48];
        /* identity */
        bool authenticated;
        char tenant[48];
        enum srv_role role;
        char token_id[48];
        /* reply */
        bool replied;
        int status;
        struct evbuffer *out;
        const char *content_type;
        char err_msg[RP_ERR_MSG_MAX];
        /* audit */
        char audit_target[48];
        char audit_detail[256];
};

/* server.c: false when `peer` is over its rate; *ret_retry_after then
 * holds the seconds until it may retry. */
bool srv_rate_allow(struct srv *s, const char *peer, unsigned *ret_retry_after);

/* server.c: appends one request log line ("... info server: " + text)
 * to a buffer that is written to stderr when it fills, SRV_LOG_FLUSH_MS
 * after its first line, and at shutdown: one write for many requests. */
void srv_reqlog(struct srv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srv_reqlog_flush(struct srv *s);

/* http.c */
void srv_dispatch(struct srv *s, struct srv_req *r);
int srv_routes_compile(struct srv *s, struct rp_err *err) RP_WUR;
/* The body limit of the route a request line ("GET /path?q HTTP/1.1")
 * names; SRV_MAX_BODY when no route matches. */
size_t srv_route_body_limit(const struct srv *s, const char *line, size_t len);
