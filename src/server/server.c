/* server.c - rampart-server's process: data directory, TLS, store, the
 * bootstrap token, listeners, connections (limit, request deadline),
 * per-client rate limiting and graceful shutdown.
 *
 * Connections: evhttp hands every accepted socket to our bevcb, which wraps
 * it in an OpenSSL bufferevent and attaches a struct srv_conn to the SSL
 * object; the conn is freed when OpenSSL frees the SSL object, whichever
 * path closed the connection. Each conn has a deadline timer: a request must
 * be completely received within request_timeout of the connection opening
 * or of the previous reply finishing, however slowly its bytes trickle in
 * (slowloris). When max_conns are open the listeners are paused, so further
 * clients wait in the kernel's backlog instead of being served. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/wipe.h"
#include "server/failures.h"
#include "server/auth.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "store/tokens.h"

void srv_config_defaults(struct srv_config *c)
{
        memset(c, 0, sizeof(*c));
        c->max_conns = SRV_DEFAULT_MAX_CONNS;
        c->request_timeout_s = SRV_DEFAULT_REQUEST_TIMEOUT;
        c->io_timeout_s = SRV_DEFAULT_IO_TIMEOUT;
        c->drain_timeout_s = SRV_DEFAULT_DRAIN_TIMEOUT;
        c->rate = SRV_DEFAULT_RATE;
}

const struct srv_config *srv_config(const struct srv *s) { return &s->cfg; }
struct store *srv_store(struct srv *s) { return s->store; }
const char *srv_cert_fingerprint(const struct srv *s) { return s->fpr; }
const char *srv_cert_pin(const struct srv *s) { return s->pin; }

size_t srv_route_count(const struct srv *s) { return s->n_routes; }

const struct srv_route *srv_route_at(const struct srv *s, size_t i)
{
        return i < s->n_routes ? s->routes[i].route : NULL;
}

/* ---- rate limiting: a token bucket per client address ---- */

static uint64_t fnv1a(const char *s)
{
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (uint8_t)*s) * 1099511628211ULL;
        return h;
}

bool srv_rate_allow(struct srv *s, const char *peer, unsigned *ret_retry_after)
{
        if (s->cfg.rate <= 0)
                return true;
        double burst = s->cfg.burst > 0 ? s->cfg.burst : 2 * s->cfg.rate;
        if (burst < 1)
                burst = 1;
        struct srv_rate_slot *sl = &s->rate[fnv1a(peer) % SRV_RATE_SLOTS];
        int64_t now = store_clock_ns();
        if (strcmp(sl->addr, peer)) {
                /* new client (or a colliding one replacing an old entry) */
                snprintf(sl->addr, sizeof(sl->addr), "%s", peer);
                sl->tokens = burst;
                sl->last_ns = now;
        }
        sl->tokens += (double)(now - sl->last_ns) / 1e9 * s->cfg.rate;
        if (sl->tokens > burst)
                sl->tokens = burst;
        sl->last_ns = now;
        if (sl->tokens >= 1) {
                sl->tokens -= 1;
                return true;
        }
        double wait = (1 - sl->tokens) / s->cfg.rate;
        unsigned secs = (unsigned)ceil(wait);
        *ret_retry_after = secs ? secs : 1;
        s->metrics.rate_limited++;
        return false;
}

/* ---- request log ---- */

void srv_reqlog_flush(struct srv *s)
{
        if (s->loglen) {
                (void)!rp_write_all(STDERR_FILENO, s->logbuf, s->loglen);
                s->loglen = 0;
        }
}

static void reqlog_timer(evutil_socket_t fd, short what, void *arg)
{
        srv_reqlog_flush(arg);
}

void srv_reqlog(struct srv *s, const char *fmt, ...)
{
        if (!s->log_requests || !s->logbuf)
                return;
        if (s->loglen > SRV_LOGBUF - 1024)
                srv_reqlog_flush(s);
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        size_t room = SRV_LOGBUF - s->loglen;
        int n = snprintf(s->logbuf + s->loglen, room,
                         "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ info server: ", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         ts.tv_nsec / 1000000);
        if (n < 0 || (size_t)n >= room)
                return;
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(s->logbuf + s->loglen + n, room - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m < 0)
                return;
        size_t len = (size_t)n + ((size_t)m < room - (size_t)n - 1 ? (size_t)m : room - (size_t)n - 2);
        bool was_empty = s->loglen == 0;
        s->logbuf[s->loglen + len] = '\n';
        s->loglen += len + 1;
        if (was_empty && s->log_timer) {
                struct timeval tv = {0, SRV_LOG_FLUSH_MS * 1000};
                evtimer_add(s->log_timer, &tv);
        }
}

/* ---- connections ---- */

static struct srv *the_srv;     /* for the SSL free callback (one server per process) */

static void listeners_pause(struct srv *s, bool pause)
{
        if (s->accepting_paused == pause)
                return;
        for (size_t i = 0; i < s->n_bound; i++) {
                struct evconnlistener *l = evhttp_bound_socket_get_listener(s->bound[i]);
                if (pause)
                        evconnlistener_disable(l);
                else
                        evconnlistener_enable(l);
        }
        s->accepting_paused = pause;
}

static void conn_gone(void *ptr)
{
        struct srv_conn *c = ptr;
        struct srv *s = c->srv;
        if (c->deadline)
                event_free(c->deadline);
        if (c->large)
                s->large_uploads--;
        if (c->prev)
                c->prev->next = c->next;
        else if (s->conns == c)
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        s->metrics.open_conns = s->n_conns;
        free(c);
        if (!s->http)
                return;
        if (s->draining) {
                if (s->n_conns == 0)
                        event_base_loopexit(s->base, NULL);
        } else if (s->n_conns < s->cfg.max_conns) {
                listeners_pause(s, false);
        }
}

static struct evhttp_connection *conn_evcon(struct srv_conn *c)
{
        void *arg = NULL;
        bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
        return arg;
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
        struct srv_conn *c = arg;
        struct evhttp_connection *evcon = conn_evcon(c);
        c->srv->metrics.deadline_closed++;
        rp_info("server", "closing a connection: no complete request within %u s",
                c->srv->cfg.request_timeout_s);
        if (evcon)
                evhttp_connection_free(evcon);
}

/* Looks at the first line of the request arriving on `c` (before evhttp
 * parses it) and sets the connection's body limit to the limit of the
 * route it names, so a body is refused with 413 as soon as its
 * Content-Length is read, instead of being buffered whole; large bodies
 * also need one of the SRV_MAX_LARGE_UPLOADS slots. */
static void conn_peek(struct srv_conn *c, struct evbuffer *in)
{
        if (c->line_seen || evbuffer_get_length(in) == 0)
                return;
        size_t eol_len = 0;
        struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
        if (p.pos < 0)
                return;         /* not yet a whole line (evhttp caps its length) */
        struct evhttp_connection *evcon = conn_evcon(c);
        if (!evcon)
                return;
        char line[SRV_MAX_PATH + 32];
        size_t n = (size_t)p.pos < sizeof(line) ? (size_t)p.pos : sizeof(line) - 1;
        ev_ssize_t got = evbuffer_copyout(in, line, n);
        if (got < 0)
                return;
        struct srv *s = c->srv;
        size_t max = srv_route_body_limit(s, line, (size_t)got);
        if (max > SRV_MAX_BODY) {
                if (s->large_uploads >= SRV_MAX_LARGE_UPLOADS) {
                        max = SRV_MAX_BODY;
                        rp_warn("server", "%u large uploads in progress: this request is limited to %d bytes",
                                s->large_uploads, SRV_MAX_BODY);
                } else {
                        c->large = true;
                        s->large_uploads++;
                }
        }
        /* Up to SRV_MAX_BODY over the limit is still read, so the route
         * answers with its JSON 413; beyond that evhttp refuses it (and
         * drops the rest unread into memory). */
        evhttp_connection_set_max_body_size(evcon, (ev_ssize_t)(max + SRV_MAX_BODY));
        c->line_seen = true;
}

static void conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
        if (info->n_added)
                conn_peek(arg, in);
}

static void conn_request_done(struct srv_conn *c)
{
        if (c->large) {
                c->large = false;
                c->srv->large_uploads--;
        }
        c->line_seen = false;
}

static void conn_arm(struct srv_conn *c)
{
        struct timeval tv = {.tv_sec = c->srv->cfg.request_timeout_s};
        evtimer_add(c->deadline, &tv);
}

static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
        struct srv *s = arg;
        struct srv_conn *c = calloc(1, sizeof(*c));
        struct ssl_st *ssl = cr_tls_new_ssl(s->tls);
        struct bufferevent *bev = NULL;
        if (!c || !ssl)
                goto fail;
        bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!bev)
                goto fail;
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        c->srv = s;
        c->bev = bev;
        c->ssl = ssl;
        c->deadline = evtimer_new(base, conn_deadline, c);
        if (!c->deadline || !evbuffer_add_cb(bufferevent_get_input(bev), conn_input, c))
                goto fail;
        cr_tls_set_app_data(ssl, c);
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        s->metrics.open_conns = s->n_conns;
        s->metrics.conns_total++;
        conn_arm(c);
        if (s->n_conns >= s->cfg.max_conns)
                listeners_pause(s, true);
        return bev;
fail:
        /* evhttp falls back to a plain-text bufferevent when we return
         * NULL; never let that happen: abort instead of serving HTTP (only
         * reached when memory is exhausted). */
        rp_error("server", "out of memory creating a TLS connection");
        abort();
}

static struct srv_conn *conn_of(struct evhttp_request *req)
{
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        if (!evcon)
                return NULL;
        struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
        return bev ? cr_tls_get_app_data(bufferevent_openssl_get_ssl(bev)) : NULL;
}

static void on_reply_done(struct evhttp_request *req, void *arg)
{
        struct srv_conn *c = conn_of(req);
        if (!c)
                return;
        c->idle = true;
        c->rbytes_at_idle = cr_tls_bytes_read(c->ssl);
        conn_arm(c);
}

static void on_request(struct evhttp_request *req, void *arg)
{
        struct srv *s = arg;
        struct srv_conn *c = conn_of(req);
        if (c) {
                evtimer_del(c->deadline);
                c->idle = false;
                conn_request_done(c);
        }
        evhttp_request_set_on_complete_cb(req, on_reply_done, s);
        struct srv_req r = {.srv = s, .ev = req, .conn = c, .route = NULL};
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        if (evcon) {
                char *addr = NULL;
                ev_uint16_t port = 0;
                evhttp_connection_get_peer(evcon, &addr, &port);
                snprintf(r.peer, sizeof(r.peer), "%s", addr ? addr : "-");
        }
        srv_dispatch(s, &r);
        /* a pipelined next request may already be buffered */
        if (c && c->bev)
                conn_peek(c, bufferevent_get_input(c->bev));
}

/* ---- shutdown ---- */

static void drain_timeout(evutil_socket_t fd, short what, void *arg)
{
        struct srv *s = arg;
        rp_warn("server", "drain timeout: closing %u connection(s) still open", s->n_conns);
        event_base_loopexit(s->base, NULL);
}

static void start_drain(struct srv *s)
{
        if (s->draining)
                return;
        s->draining = true;
        srv_reqlog_flush(s);
        rp_info("server", "shutting down: no new connections, finishing %u open", s->n_conns);
        for (size_t i = 0; i < s->n_bound; i++)
                evhttp_del_accept_socket(s->http, s->bound[i]);
        s->n_bound = 0;
        /* Idle keep-alive connections (a reply finished, nothing received
         * since) have nothing in flight: close them now. */
        struct srv_conn *c = s->conns, *next;
        for (; c; c = next) {
                next = c->next;
                if (c->idle && cr_tls_bytes_read(c->ssl) == c->rbytes_at_idle) {
                        struct evhttp_connection *evcon = conn_evcon(c);
                        if (evcon)
                                evhttp_connection_free(evcon);
                }
        }
        if (s->n_conns == 0) {
                event_base_loopexit(s->base, NULL);
                return;
        }
        s->drain_timer = evtimer_new(s->base, drain_timeout, s);
        struct timeval tv = {.tv_sec = s->cfg.drain_timeout_s};
        if (s->drain_timer)
                evtimer_add(s->drain_timer, &tv);
        else
                event_base_loopexit(s->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        start_drain(arg);
}

/* ---- start-up ---- */

static void store_observer(void *ctx, const char *op, double secs)
{
        struct srv *s = ctx;
        srv_metrics_store(&s->metrics, op, secs);
}

static int bootstrap(struct srv *s, char **ret_token, struct rp_err *err)
{
        char buf[STORE_TEXT_MAX];
        *ret_token = NULL;
        int r = store_meta_get(s->store, "bootstrap_token", buf, sizeof(buf), err);
        if (r == 0)
                return 0;
        if (r != -ENOENT)
                return r;
        char tok[SRV_TOKEN_BUF];
        struct store_token t;
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        if ((r = store_tx_begin(s->store, err)) < 0)
                return r;
        tx = s->store;
        if ((r = srv_token_issue(s->store, "", SRV_ROLE_PLATFORM, "bootstrap", 0, "", &t, tok,
                                 err)) < 0 ||
            (r = store_meta_set(s->store, "bootstrap_token", t.id, err)) < 0)
                return r;
        r = store_tx_commit(s->store, err);
        tx = NULL;
        if (r < 0) {
                rp_wipe(tok, sizeof(tok));
                return r;
        }
        *ret_token = strdup(tok);
        rp_wipe(tok, sizeof(tok));
        return *ret_token ? 0 : rp_err_set(err, -ENOMEM, "out of memory");
}

static int parse_listen(const char *spec, char *host, size_t hsz, ev_uint16_t *port,
                        struct rp_err *err)
{
        const char *colon;
        if (spec[0] == '[') {
                const char *end = strchr(spec, ']');
                if (!end || end[1] != ':')
                        return rp_err_set(err, -EINVAL, "listen address '%s': expected [v6addr]:port",
                                          spec);
                if ((size_t)(end - spec - 1) >= hsz)
                        return rp_err_set(err, -EINVAL, "listen address '%s' too long", spec);
                snprintf(host, hsz, "%.*s", (int)(end - spec - 1), spec + 1);
                colon = end + 1;
        } else {
                colon = strrchr(spec, ':');
                if (!colon || colon == spec || memchr(spec, ':', (size_t)(colon - spec)))
                        return rp_err_set(err, -EINVAL,
                                          "listen address '%s': expected host:port or [v6addr]:port",
                                          spec);
                if ((size_t)(colon - spec) >= hsz)
                        return rp_err_set(err, -EINVAL, "listen address '%s' too long", spec);
                snprintf(host, hsz, "%.*s", (int)(colon - spec), spec);
        }
        char *end = NULL;
        long p = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || p < 0 || p > 65535)
                return rp_err_set(err, -EINVAL, "listen address '%s': port '%s' is not 0..65535",
                                  spec, colon + 1);
        *port = (ev_uint16_t)p;
        return 0;
}

size_t srv_bound(const struct srv *s, char out[][64], size_t max)
{
        size_t n = 0;
        for (size_t i = 0; i < s->n_bound && n < max; i++) {
                evutil_socket_t fd = evhttp_bound_socket_get_fd(s->bound[i]);
                struct sockaddr_storage ss;
                socklen_t sl = sizeof(ss);
                char a[INET6_ADDRSTRLEN];
                if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
                        continue;
                if (ss.ss_family == AF_INET6) {
                        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
                        inet_ntop(AF_INET6, &v6->sin6_addr, a, sizeof(a));
                        snprintf(out[n++], 64, "[%s]:%u", a, ntohs(v6->sin6_port));
                } else {
                        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
                        inet_ntop(AF_INET, &v4->sin_addr, a, sizeof(a));
                        snprintf(out[n++], 64, "%s:%u", a, ntohs(v4->sin_port));
                }
        }
        return n;
}

static bool file_exists(const char *p)
{
        struct stat sb;
        return stat(p, &sb) == 0;
}

int srv_new(const struct srv_config *cfg, struct srv **ret, char **ret_bootstrap_token,
            struct rp_err *err)
{
        int r;
        if (the_srv)
                return rp_err_set(err, -EBUSY, "one server per process");
        struct srv *s = calloc(1, sizeof(*s));
        if (!s)
                return rp_err_set(err, -ENOMEM, "out of memory");
        s->cfg = *cfg;
        if (s->cfg.max_conns == 0)
                s->cfg.max_conns = SRV_DEFAULT_MAX_CONNS;
        if (s->cfg.request_timeout_s == 0)
                s->cfg.request_timeout_s = SRV_DEFAULT_REQUEST_TIMEOUT;
        if (s->cfg.io_timeout_s == 0)
                s->cfg.io_timeout_s = SRV_DEFAULT_IO_TIMEOUT;
        if (s->cfg.n_listen == 0) {
                s->cfg.listen[0] = SRV_DEFAULT_LISTEN;
                s->cfg.n_listen = 1;
        }
        const char *dd = cfg->data_dir ? cfg->data_dir : getenv("RAMPART_DATA");
        snprintf(s->data_dir, sizeof(s->data_dir), "%s", dd && *dd ? dd : SRV_DEFAULT_DATA);
        s->cfg.data_dir = s->data_dir;
        the_srv = s;
        *ret = s;       /* srv_free() cleans up a partial start */
        *ret_bootstrap_token = NULL;

        if ((r = rp_mkdir_p(s->data_dir, 0700)) < 0)
                return rp_err_set(err, r, "data directory '%s': %s", s->data_dir, strerror(-r));
        if ((r = srv_keystore_open(s->data_dir, &s->keys, err)) < 0)
                return r;

        /* TLS certificate: given, or generated on first start. */
        if (cfg->cert_file || cfg->key_file) {
                if (!cfg->cert_file || !cfg->key_file)
                        return rp_err_set(err, -EINVAL, "--cert and --key go together");
                snprintf(s->cert_file, sizeof(s->cert_file), "%s", cfg->cert_file);
                snprintf(s->key_file, sizeof(s->key_file), "%s", cfg->key_file);
        } else {
                snprintf(s->cert_file, sizeof(s->cert_file), "%s/server.crt", s->data_dir);
                snprintf(s->key_file, sizeof(s->key_file), "%s/server.key", s->data_dir);
                bool hc = file_exists(s->cert_file), hk = file_exists(s->key_file);
                if (hc != hk)
                        return rp_err_set(err, -EINVAL, "'%s' exists without '%s'",
                                          hc ? s->cert_file : s->key_file,
                                          hc ? s->key_file : s->cert_file);
                if (!hc && (r = cr_tls_make_self_signed(s->cert_file, s->key_file, 825, err)) < 0)
                        return r;
        }
        if ((r = cr_tls_cert_fingerprints(s->cert_file, s->fpr, s->pin, err)) < 0)
                return r;
        struct cr_tls_server_opts to = {.cert_file = s->cert_file, .key_file = s->key_file,
                                        .request_client_cert = true};
        if ((r = cr_tls_server_ctx(&to, &s->tls, err)) < 0)
                return r;
        if (cr_tls_app_data_init(conn_gone) < 0)
                return rp_err_set(err, -ENOMEM, "TLS: no ex_data index");

        /* Store. */
        char spec[700];
        if (!cfg->store_spec)
                snprintf(spec, sizeof(spec), "sqlite:%s/rampart.db", s->data_dir);
        if ((r = store_open(cfg->store_spec ? cfg->store_spec : spec, &s->store, err)) < 0)
                return r;

        /* Routes and metrics. */
        if ((r = srv_routes_compile(s, err)) < 0)
                return r;
        const char **names = calloc(s->n_routes + 1, sizeof(*names));
        if (!names)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < s->n_routes; i++)
                names[i] = s->routes[i].route->name;
        r = srv_metrics_init(&s->metrics, names, s->n_routes);
        free(names);
        if (r < 0)
                return rp_err_set(err, r, "out of memory");
        store_set_observer(s->store, store_observer, s);
        s->rate = calloc(SRV_RATE_SLOTS, sizeof(*s->rate));
        if (!s->rate)
                return rp_err_set(err, -ENOMEM, "out of memory");

        if ((r = bootstrap(s, ret_bootstrap_token, err)) < 0)
                return r;

        /* Request log. */
        const char *lvl = getenv("RP_LOG_LEVEL");
        s->log_requests = !lvl || !strcmp(lvl, "info") || !strcmp(lvl, "debug");
        s->logbuf = malloc(SRV_LOGBUF);
        if (!s->logbuf)
                return rp_err_set(err, -ENOMEM, "out of memory");

        /* Event loop and HTTP. The epoll changelist folds the add/remove
         * pairs of write interest that every reply causes into nothing. */
        struct event_config *ec = event_config_new();
        if (ec) {
                event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
                s->base = event_base_new_with_config(ec);
                event_config_free(ec);
        }
        if (s->base)
                s->log_timer = evtimer_new(s->base, reqlog_timer, s);
        s->http = s->base && s->log_timer ? evhttp_new(s->base) : NULL;
        if (!s->http)
                return rp_err_set(err, -ENOMEM, "creating the event loop");
        evhttp_set_bevcb(s->http, on_new_conn, s);
        evhttp_set_gencb(s->http, on_request, s);
        evhttp_set_timeout(s->http, (int)s->cfg.io_timeout_s);
        evhttp_set_max_headers_size(s->http, SRV_MAX_HEADERS);
        /* Raised per request for routes that take more (conn_peek). */
        evhttp_set_max_body_size(s->http, 2 * SRV_MAX_BODY);
        /* read (and drop) an oversized body before closing, so the client
         * sees the 413 instead of a reset mid-upload */
        evhttp_set_flags(s->http, EVHTTP_SERVER_LINGERING_CLOSE);
        /* HEAD, OPTIONS and TRACE reach the router too, so they get a JSON
         * 405 rather than evhttp's HTML 501. Not CONNECT: evhttp keeps a
         * CONNECT connection open as a tunnel after the reply. */
        evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                                    EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
                                                    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS |
                                                    EVHTTP_REQ_TRACE);
        evhttp_set_default_content_type(s->http, "application/json");
        for (size_t i = 0; i < s->cfg.n_listen; i++) {
                char host[256];
                ev_uint16_t port = 0;
                if ((r = parse_listen(s->cfg.listen[i], host, sizeof(host), &port, err)) < 0)
                        return r;
                struct evhttp_bound_socket *b = evhttp_bind_socket_with_handle(s->http, host, port);
                if (!b)
                        return rp_err_set(err, -EADDRNOTAVAIL, "cannot listen on '%s': %s",
                                          s->cfg.listen[i], strerror(errno));
                /* Accepted sockets inherit TCP_NODELAY on Linux: replies are
                 * written as separate TLS records, which Nagle would hold
                 * back for a delayed ACK. */
                int one = 1;
                setsockopt(evhttp_bound_socket_get_fd(b), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                s->bound[s->n_bound++] = b;
        }
        s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
        s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
        if (!s->sig_term || !s->sig_int || evsignal_add(s->sig_term, NULL) < 0 ||
            evsignal_add(s->sig_int, NULL) < 0)
                return rp_err_set(err, -EIO, "installing signal handlers");
        signal(SIGPIPE, SIG_IGN);
        if ((r = srv_failures_start(s, err)) < 0)
                return r;
        return 0;
}

int srv_run(struct srv *s, struct rp_err *err)
{
        if (event_base_dispatch(s->base) < 0)
                return rp_err_set(err, -EIO, "event loop failed");
        return 0;
}

void srv_free(struct srv *s)
{
        if (!s)
                return;
        /* Connection timers belong to the base: drop them before freeing it. */
        for (struct srv_conn *c = s->conns; c; c = c->next)
                if (c->deadline) {
                        event_free(c->deadline);
                        c->deadline = NULL;
                }
        if (s->http) {
                struct evhttp *h = s->http;
                s->http = NULL;
                evhttp_free(h);
        }
        if (s->drain_timer)
                event_free(s->drain_timer);
        if (s->log_timer)
                event_free(s->log_timer);
        srv_failures_stop(s);
        srv_reqlog_flush(s);
        free(s->logbuf);
        if (s->sig_term)
                event_free(s->sig_term);
        if (s->sig_int)
                event_free(s->sig_int);
        if (s->base)
                event_base_free(s->base);
        cr_tls_ctx_free(s->tls);
        store_close(s->store);
        srv_metrics_free(&s->metrics);
        srv_keystore_wipe(&s->keys);
        free(s->routes);
        free(s->rate);
        the_srv = NULL;
        free(s);
}
