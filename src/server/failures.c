/* failures.c - failure intake (device routes), triage views and export
 * (operator routes), retention and metrics. See failures.h and
 * docs/failures.md ("The service"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>

#include "crypto/crypto.h"
#include "failure/bucket.h"
#include "failure/report.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/log.h"
#include "server/devices.h"
#include "server/failures.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "store/attest.h"
#include "store/ca.h"
#include "store/failures.h"
#include "store/groups.h"

struct fail_series {
        const char *cls;                        /* fail_class_name() constant */
        char component[FAIL_MAX_ID + 1];
        uint64_t n;
};

/* Public keys of tenant CA certificates, by SHA-256 of their PEM: parsing
 * a certificate and checking its key (a scalar multiplication) on every
 * device request would cost more than the signature check itself. A CA
 * rotation changes the PEM and so the entry. */
#define CA_KEY_CACHE 64
struct ca_key_entry {
        uint8_t pem_hash[CR_SHA256_LEN];
        struct cr_key *key;
};

struct srv_failures {
        struct event *timer;
        struct ca_key_entry ca_keys[CA_KEY_CACHE];
        unsigned ca_next;                       /* round-robin replacement */
        int64_t retention_ms;
        struct fail_series series[SRV_FAIL_METRIC_SERIES];
        size_t n_series;
        uint64_t other[FAIL_CLASS_COUNT];       /* occurrences past the series cap */
        uint64_t batches_accepted, batches_duplicate, batches_refused;
        uint64_t dumps_discarded, dropped_reported, purged;
};

/* ---- device identity ---- */

static void cert_free_p(struct cr_cert **c) { cr_cert_free(*c); }

/* The CA's public key (borrowed from the cache), or NULL when the PEM does
 * not parse. */
static const struct cr_key *ca_key(struct srv_failures *f, const char *pem)
{
        uint8_t h[CR_SHA256_LEN];
        cr_sha256(pem, strlen(pem), h);
        for (unsigned i = 0; i < CA_KEY_CACHE; i++)
                if (f->ca_keys[i].key && !memcmp(f->ca_keys[i].pem_hash, h, sizeof(h)))
                        return f->ca_keys[i].key;
        _cleanup_(cert_free_p) struct cr_cert *cc = NULL;
        struct cr_key *pub = NULL;
        if (cr_cert_from_pem(pem, strlen(pem), &cc, NULL) < 0 || cr_cert_pubkey(cc, &pub) < 0)
                return NULL;
        struct ca_key_entry *e = &f->ca_keys[f->ca_next++ % CA_KEY_CACHE];
        cr_key_free(e->key);
        memcpy(e->pem_hash, h, sizeof(h));
        e->key = pub;
        return pub;
}

int srv_device_auth(struct srv_req *r, struct srv_device_id *ret)
{
        struct store *st = srv_req_store(r);
        _cleanup_(cert_free_p) struct cr_cert *peer = NULL;
        _cleanup_free_ char *serial = NULL, *cn = NULL;
        struct rp_err e = {0};
        struct store_device_owner own;
        struct store_device_cert dc;
        struct srv_device_id id = {0};
        int k;

        if (srv_req_peer_cert(r, &peer) < 0) {
                srv_reply_error(r, 401, "unauthenticated", "this route needs the device's "
                                "platform certificate as TLS client certificate");
                return -EACCES;
        }
        if (cr_cert_subject_cn(peer, &cn) < 0 || !srv_ueid_valid(cn)) {
                srv_reply_error(r, 403, "forbidden", "client certificate subject is not "
                                "CN=<ueid> of a device");
                return -EPERM;
        }
        if (cr_cert_serial_hex(peer, &serial) < 0 || strlen(serial) >= sizeof(id.serial)) {
                srv_reply_error(r, 403, "forbidden", "client certificate has no readable serial");
                return -EPERM;
        }
        for (char *p = serial; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        *p = (char)(*p - 'A' + 'a');
        k = store_attest_owner_get(st, cn, &own, &e);
        if (k == -ENOENT) {
                srv_reply_error(r, 403, "forbidden", "device '%s' is not claimed by any tenant", cn);
                return -EPERM;
        }
        if (k < 0) {
                srv_reply_err(r, &e);
                return k;
        }
        k = store_attest_cert_get(st, own.tenant_id, serial, &dc, &e);
        if (k == -ENOENT || (k == 0 && (strcmp(dc.ueid, cn) || strcmp(dc.purpose, "platform")))) {
                srv_reply_error(r, 403, "forbidden", "client certificate serial %.40s is not a "
                                "platform certificate issued to device '%s' by its tenant",
                                serial, cn);
                return -EPERM;
        }
        if (k < 0) {
                srv_reply_err(r, &e);
                return k;
        }
        time_t nb = 0, na = 0, now = (time_t)(srv_now_ms() / 1000);
        if (cr_cert_validity(peer, &nb, &na) < 0 || now < nb || now > na) {
                srv_reply_error(r, 403, "forbidden", "client certificate of device '%s' is not "
                                "valid now (expired or not yet valid)", cn);
                return -EPERM;
        }
        /* the certificate the TLS peer proved possession of is the one the
         * tenant CA signed (a copy of the serial and subject is not enough) */
        static const char *const states[] = {"current", "next", "retired"};
        bool signed_ok = false;
        for (size_t i = 0; i < sizeof(states) / sizeof(states[0]) && !signed_ok; i++) {
                struct store_ca ca;
                const struct cr_key *pub;
                k = store_ca_get_by_state(st, own.tenant_id, states[i], &ca, &e);
                if (k == -ENOENT)
                        continue;
                if (k < 0) {
                        srv_reply_err(r, &e);
                        return k;
                }
                pub = ca_key(srv_req_server(r)->failures, ca.cert_pem);
                if (pub && cr_cert_verify_signature(peer, pub, NULL) == 0)
                        signed_ok = true;
        }
        if (!signed_ok) {
                srv_reply_error(r, 403, "forbidden", "client certificate of device '%s' is not "
                                "signed by its tenant's CA", cn);
                return -EPERM;
        }
        if (strcmp(own.state, "active")) {
                srv_reply_error(r, 403, "forbidden", "device '%s' is %s", cn, own.state);
                return -EPERM;
        }
        snprintf(id.ueid, sizeof(id.ueid), "%s", cn);
        snprintf(id.tenant_id, sizeof(id.tenant_id), "%s", own.tenant_id);
        snprintf(id.group_id, sizeof(id.group_id), "%s", own.group_id);
        snprintf(id.serial, sizeof(id.serial), "%s", serial);
        *ret = id;
        return 0;
}

/* ---- metrics ---- */

static void count_event(struct srv_failures *f, enum fail_class c, const char *component,
                        uint64_t n)
{
        const char *cls = fail_class_name(c);
        for (size_t i = 0; i < f->n_series; i++)
                if (f->series[i].cls == cls && !strcmp(f->series[i].component, component)) {
                        f->series[i].n += n;
                        return;
                }
        if (f->n_series == SRV_FAIL_METRIC_SERIES) {
                f->other[c] += n;
                return;
        }
        struct fail_series *s = &f->series[f->n_series++];
        s->cls = cls;
        snprintf(s->component, sizeof(s->component), "%s", component);
        s->n = n;
}

int srv_failures_metrics_render(const struct srv *s, struct rp_buf *o)
{
        const struct srv_failures *f = s->failures;
        if (!f)
                return 0;
        if (rp_buf_printf(o, "# HELP rampart_failure_events_total Failures reported by devices "
                             "(occurrences), by event class and component.\n"
                             "# TYPE rampart_failure_events_total counter\n") < 0)
                return -ENOMEM;
        /* component ids are [A-Za-z0-9._-] (report.h): no label escaping needed */
        for (size_t i = 0; i < f->n_series; i++)
                if (rp_buf_printf(o, "rampart_failure_events_total{class=\"%s\",component=\"%s\"} "
                                     "%llu\n", f->series[i].cls, f->series[i].component,
                                  (unsigned long long)f->series[i].n) < 0)
                        return -ENOMEM;
        for (int c = 0; c < FAIL_CLASS_COUNT; c++)
                if (f->other[c] && rp_buf_printf(o, "rampart_failure_events_total{class=\"%s\","
                                                    "component=\"_other\"} %llu\n",
                                                 fail_class_name((enum fail_class)c),
                                                 (unsigned long long)f->other[c]) < 0)
                        return -ENOMEM;
        if (rp_buf_printf(o,
                          "# HELP rampart_failure_batches_total Failure upload batches, by result.\n"
                          "# TYPE rampart_failure_batches_total counter\n"
                          "rampart_failure_batches_total{result=\"accepted\"} %llu\n"
                          "rampart_failure_batches_total{result=\"duplicate\"} %llu\n"
                          "rampart_failure_batches_total{result=\"refused\"} %llu\n"
                          "# HELP rampart_failure_dumps_discarded_total Crash dumps dropped because the device group does not allow them.\n"
                          "# TYPE rampart_failure_dumps_discarded_total counter\n"
                          "rampart_failure_dumps_discarded_total %llu\n"
                          "# HELP rampart_failure_device_dropped_total Events devices reported as dropped from full queues.\n"
                          "# TYPE rampart_failure_device_dropped_total counter\n"
                          "rampart_failure_device_dropped_total %llu\n"
                          "# HELP rampart_failure_events_purged_total Stored events deleted by retention.\n"
                          "# TYPE rampart_failure_events_purged_total counter\n"
                          "rampart_failure_events_purged_total %llu\n",
                          (unsigned long long)f->batches_accepted,
                          (unsigned long long)f->batches_duplicate,
                          (unsigned long long)f->batches_refused,
                          (unsigned long long)f->dumps_discarded,
                          (unsigned long long)f->dropped_reported,
                          (unsigned long long)f->purged) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- intake ---- */

static void batch_freep(struct fail_batch *b) { fail_batch_free(b); }

/* SHA-256 (hex) of the batch as rebuilt without crash dumps: the content a
 * retry must repeat. Dumps are left out because whether they travel depends
 * on the group setting, which may change between two tries. */
static int batch_digest(struct fail_batch *b, char out[STORE_FAIL_DIGEST_BUF], struct rp_err *err)
{
        _cleanup_free_ uint8_t **dumps = calloc(b->nevents, sizeof(*dumps));
        _cleanup_free_ size_t *lens = calloc(b->nevents, sizeof(*lens));
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        uint8_t h[CR_SHA256_LEN];
        if (!dumps || !lens)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < b->nevents; i++) {
                dumps[i] = b->events[i].dump;
                lens[i] = b->events[i].dump_len;
                b->events[i].dump = NULL;
                b->events[i].dump_len = 0;
        }
        int r = fail_batch_build(b->batch_id, b->dropped, b->events, b->nevents, &json, &len, err);
        for (size_t i = 0; i < b->nevents; i++) {
                b->events[i].dump = dumps[i];
                b->events[i].dump_len = lens[i];
        }
        if (r < 0)
                return r;
        cr_sha256(json, len, h);
        rp_hex_encode(h, sizeof(h), out);
        return 0;
}

static char *frames_json(const struct fail_event *ev)
{
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < ev->nframes; i++) {
                const struct fail_frame *fr = &ev->frames[i];
                json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I,s:I}", "module", fr->module,
                                                   "build_id", fr->build_id, "function",
                                                   fr->function, "offset", (json_int_t)fr->offset,
                                                   "module_offset",
                                                   (json_int_t)fr->module_offset));
        }
        char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
        json_decref(a);
        return s;
}

static void hex_addr(uint64_t v, char out[24])
{
        snprintf(out, 24, "0x%llx", (unsigned long long)v);
}

static void refuse_batch(struct srv_req *r, int status, const char *code, const char *msg)
{
        srv_req_server(r)->failures->batches_refused++;
        srv_reply_error(r, status, code, "%s", msg);
}

static void failures_post(struct srv_req *r)
{
        struct srv *s = srv_req_server(r);
        struct srv_failures *f = s->failures;
        struct store *st = srv_req_store(r);
        struct srv_device_id dev;
        struct rp_err e = {0};
        _cleanup_(batch_freep) struct fail_batch b = {0};
        char digest[STORE_FAIL_DIGEST_BUF];
        int k;

        if (srv_device_auth(r, &dev) < 0) {
                f->batches_refused++;
                return;
        }
        const char *ct = srv_req_header(r, "Content-Type");
        if (!ct || strncasecmp(ct, "application/json", 16))
                return refuse_batch(r, 415, "unsupported_media_type", "a failure batch must be "
                                    "application/json (docs/failures.md)");
        size_t blen = 0;
        const uint8_t *body = srv_req_body(r, &blen);
        if (blen > FAIL_MAX_BATCH_BYTES) {
                char m[120];
                snprintf(m, sizeof(m), "batch is %zu bytes, the limit is %d", blen,
                         FAIL_MAX_BATCH_BYTES);
                return refuse_batch(r, 413, "payload_too_large", m);
        }
        if (fail_batch_parse(body, blen, &b, &e) < 0)
                return refuse_batch(r, 400, "bad_request", e.msg);
        if (batch_digest(&b, digest, &e) < 0)
                return refuse_batch(r, 400, "bad_request", e.msg);

        struct store_failure_batch prev;
        k = store_failure_batch_get(st, dev.ueid, b.batch_id, &prev, &e);
        if (k == 0) {
                if (strcmp(prev.digest, digest)) {
                        char m[160];
                        snprintf(m, sizeof(m), "batch '%s' was accepted before with different "
                                 "content; a new batch needs a new batch_id", b.batch_id);
                        return refuse_batch(r, 409, "conflict", m);
                }
                f->batches_duplicate++;
                return srv_reply_json(r, 200, json_pack("{s:s,s:I,s:b}", "batch_id", b.batch_id,
                                                        "accepted", (json_int_t)prev.events,
                                                        "duplicate", 1));
        }
        if (k != -ENOENT)
                return srv_reply_err(r, &e);

        struct store_group g;
        if ((k = store_group_get(st, dev.tenant_id, dev.group_id, &g, &e)) < 0)
                return srv_reply_err(r, &e);
        size_t discarded = 0;
        if (!g.crash_dumps_allowed)
                for (size_t i = 0; i < b.nevents; i++)
                        if (b.events[i].dump) {
                                free(b.events[i].dump);
                                b.events[i].dump = NULL;
                                b.events[i].dump_len = 0;
                                discarded++;
                        }

        /* bucket every event before the first write: nothing is stored
         * unless the whole batch is */
        _cleanup_free_ struct fail_bucket *bk = calloc(b.nevents, sizeof(*bk));
        if (!bk)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        for (size_t i = 0; i < b.nevents; i++)
                if (fail_bucket_compute(&b.events[i], &bk[i], &e) < 0) {
                        char m[RP_ERR_MSG_MAX + 32];
                        snprintf(m, sizeof(m), "events[%zu]: %s", i, e.msg);
                        return refuse_batch(r, 400, "bad_request", m);
                }

        int64_t now = srv_now_ms();
        struct store_failure_batch rec = {.events = (int64_t)b.nevents, .dropped = b.dropped,
                                          .received_ms = now};
        snprintf(rec.tenant_id, sizeof(rec.tenant_id), "%s", dev.tenant_id);
        snprintf(rec.ueid, sizeof(rec.ueid), "%s", dev.ueid);
        snprintf(rec.batch_id, sizeof(rec.batch_id), "%s", b.batch_id);
        memcpy(rec.digest, digest, sizeof(digest));

        _cleanup_(store_tx_guard) struct store *tx = NULL;
        if ((k = store_tx_begin(st, &e)) < 0)
                return srv_reply_err(r, &e);
        tx = st;
        if ((k = store_failure_batch_add(st, &rec, &e)) < 0)
                return srv_reply_err(r, &e);
        for (size_t i = 0; i < b.nevents; i++) {
                const struct fail_event *ev = &b.events[i];
                struct store_failure_event se = {
                        .time_first = ev->time_first, .time_last = ev->time_last,
                        .count = ev->count, .received_ms = now,
                        .dump = ev->dump, .dump_len = ev->dump_len,
                };
                if (srv_new_id("fev", se.id) < 0)
                        return srv_reply_error(r, 500, "internal", "no randomness");
                snprintf(se.tenant_id, sizeof(se.tenant_id), "%s", dev.tenant_id);
                snprintf(se.ueid, sizeof(se.ueid), "%s", dev.ueid);
                snprintf(se.bucket_id, sizeof(se.bucket_id), "%s", bk[i].id);
                snprintf(se.batch_id, sizeof(se.batch_id), "%s", b.batch_id);
                snprintf(se.cls, sizeof(se.cls), "%s", fail_class_name(ev->cls));
                snprintf(se.component_id, sizeof(se.component_id), "%s", ev->component_id);
                snprintf(se.component_version, sizeof(se.component_version), "%s",
                         ev->component_version);
                snprintf(se.reason, sizeof(se.reason), "%s", ev->reason);
                snprintf(se.detail, sizeof(se.detail), "%s", ev->detail);
                if (ev->cls == FAIL_APP_CRASH) {
                        se.signal = ev->signal;
                        se.si_code = ev->si_code;
                        hex_addr(ev->fault_addr, se.fault_addr);
                        hex_addr(ev->pc, se.pc);
                }
                if (ev->cls == FAIL_APP_EXIT)
                        se.exit_code = ev->exit_code;
                _cleanup_free_ char *frames = frames_json(ev);
                if (!frames)
                        return srv_reply_error(r, 503, "unavailable", "out of memory");
                se.frames = frames;
                if ((k = store_failure_event_add(st, &se, bk[i].title, &e)) < 0)
                        return srv_reply_err(r, &e);
        }
        if ((k = store_tx_commit(st, &e)) < 0)
                return srv_reply_err(r, &e);
        tx = NULL;

        for (size_t i = 0; i < b.nevents; i++)
                count_event(f, b.events[i].cls, b.events[i].component_id, b.events[i].count);
        f->batches_accepted++;
        f->dumps_discarded += discarded;
        f->dropped_reported += b.dropped;
        srv_reply_json(r, 200, json_pack("{s:s,s:I,s:b,s:I}", "batch_id", b.batch_id, "accepted",
                                         (json_int_t)b.nevents, "duplicate", 0,
                                         "dumps_discarded", (json_int_t)discarded));
}

static void device_ping(struct srv_req *r)
{
        struct srv_device_id dev;
        if (srv_device_auth(r, &dev) < 0)
                return;
        srv_reply_json(r, 200, json_pack("{s:s,s:s}", "ueid", dev.ueid, "tenant_id",
                                         dev.tenant_id));
}

/* ---- operator views ---- */

static json_t *ms_time(int64_t ms) { return srv_json_time(ms); }

static json_t *sec_time(int64_t s)
{
        char b[32];
        if (s <= 0)
                return json_null();
        srv_time_fmt(s * 1000, b);
        return json_string(b);
}

static json_t *bucket_json(const struct store_failure_bucket *b)
{
        json_t *vs = json_array();
        for (size_t i = 0; i < b->n_versions; i++)
                json_array_append_new(vs, json_pack("{s:s,s:I,s:I,s:o,s:o}", "version",
                                                    b->versions[i].version, "hits",
                                                    (json_int_t)b->versions[i].hits, "devices",
                                                    (json_int_t)b->versions[i].devices,
                                                    "first_seen",
                                                    ms_time(b->versions[i].first_seen_ms),
                                                    "last_seen",
                                                    ms_time(b->versions[i].last_seen_ms)));
        return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:o}", "id", b->id, "title",
                         b->title, "class", b->cls, "component_id", b->component_id, "hits",
                         (json_int_t)b->hits, "devices", (json_int_t)b->devices, "events",
                         (json_int_t)b->events, "first_seen", ms_time(b->first_seen_ms),
                         "last_seen", ms_time(b->last_seen_ms), "versions", vs);
}

static json_t *opt_int(bool present, int64_t v)
{
        return present ? json_integer(v) : json_null();
}

static json_t *event_json(const struct store_failure_event *e)
{
        bool crash = !strcmp(e->cls, "app_crash"), ex = !strcmp(e->cls, "app_exit");
        json_t *o = json_pack(
                "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                "id", e->id, "ueid", e->ueid, "bucket_id", e->bucket_id, "batch_id", e->batch_id,
                "class", e->cls, "component_id", e->component_id, "component_version",
                e->component_version, "time_first", sec_time(e->time_first), "time_last",
                sec_time(e->time_last), "count", (json_int_t)e->count, "signal",
                opt_int(crash, e->signal), "si_code", opt_int(crash, e->si_code), "fault_addr",
                crash ? json_string(e->fault_addr) : json_null(), "pc",
                crash ? json_string(e->pc) : json_null(), "exit_code", opt_int(ex, e->exit_code),
                "reason", srv_json_str_or_null(e->reason), "detail",
                srv_json_str_or_null(e->detail), "received", ms_time(e->received_ms));
        if (o && e->frames) {
                json_t *fr = json_loads(e->frames, 0, NULL);
                json_object_set_new(o, "frames", fr ? fr : json_array());
        }
        return o;
}

static bool bucket_id_valid(const char *s)
{
        if (!s || strlen(s) != FAIL_BUCKET_ID_LEN)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static int fill_versions(struct store *st, const char *tenant, struct store_failure_bucket *b,
                         struct rp_err *e)
{
        struct store_failure_bucket full;
        int k = store_failure_bucket_get(st, tenant, b->id, &full, e);
        if (k < 0)
                return k;
        b->n_versions = full.n_versions;
        memcpy(b->versions, full.versions, sizeof(b->versions));
        return 0;
}

static void buckets_list(struct srv_req *r)
{
        struct srv_page pg;
        struct rp_err e = {0};
        struct store *st = srv_req_store(r);
        _cleanup_free_ struct store_failure_bucket *v = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (srv_req_page(r, &pg) < 0)
                return;
        if (store_failure_bucket_list(st, srv_req_tenant(r), pg.after, pg.limit, &v, &n, &next,
                                      &e) < 0)
                return srv_reply_err(r, &e);
        json_t *items = json_array();
        for (size_t i = 0; i < n; i++) {
                if (fill_versions(st, srv_req_tenant(r), &v[i], &e) < 0) {
                        json_decref(items);
                        return srv_reply_err(r, &e);
                }
                json_array_append_new(items, bucket_json(&v[i]));
        }
        srv_reply_page(r, items, next);
}

static void bucket_get(struct srv_req *r)
{
        const char *id = srv_req_param(r, "bucket");
        struct rp_err e = {0};
        struct store *st = srv_req_store(r);
        if (!bucket_id_valid(id))
                return srv_reply_error(r, 404, "not_found", "no failure bucket '%.60s'", id);
        _cleanup_free_ struct store_failure_bucket *b = calloc(1, sizeof(*b));
        if (!b)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        if (store_failure_bucket_get(st, srv_req_tenant(r), id, b, &e) < 0)
                return srv_reply_err(r, &e);
        struct store_failure_event *ev = NULL;
        size_t n = 0;
        if (store_failure_event_samples(st, srv_req_tenant(r), id, SRV_FAIL_SAMPLES, &ev, &n,
                                        &e) < 0)
                return srv_reply_err(r, &e);
        json_t *o = bucket_json(b), *samples = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(samples, event_json(&ev[i]));
        store_failure_events_free(ev, n);
        json_object_set_new(o, "samples", samples);
        srv_reply_json(r, 200, o);
}

/* CSV cell (RFC 4180 quoting). A cell a spreadsheet would take as a
 * formula (= + - @ first) is prefixed with a quote, since function names,
 * reasons and details come from devices. */
static int csv_cell(struct rp_buf *o, const char *v, bool last)
{
        bool quote = strpbrk(v, ",\"\r\n") != NULL;
        bool formula = strchr("=+-@", v[0]) && v[0];
        if (rp_buf_printf(o, "%s%s", quote ? "\"" : "", formula ? "'" : "") < 0)
                return -ENOMEM;
        for (const char *p = v; *p; p++)
                if (rp_buf_printf(o, *p == '"' ? "\"\"" : "%c", *p) < 0)
                        return -ENOMEM;
        return rp_buf_printf(o, "%s%s", quote ? "\"" : "", last ? "\r\n" : ",");
}

static const char *const csv_columns[] = {
        "event_id", "received", "ueid", "bucket_id", "class", "component_id",
        "component_version", "time_first", "time_last", "count", "signal", "exit_code",
        "reason", "fault_addr", "pc", "top_function", "detail",
};

static int csv_event(struct rp_buf *o, const struct store_failure_event *e)
{
        char recv[32], tf[32], tl[32], cnt[24], sigbuf[24], ex[24] = "", top[FAIL_MAX_FUNCTION + 1] = "";
        const char *sig = "";
        srv_time_fmt(e->received_ms, recv);
        srv_time_fmt(e->time_first * 1000, tf);
        srv_time_fmt(e->time_last * 1000, tl);
        snprintf(cnt, sizeof(cnt), "%lld", (long long)e->count);
        if (!strcmp(e->cls, "app_crash"))
                sig = fail_signal_name((int)e->signal, sigbuf, sizeof(sigbuf));
        if (!strcmp(e->cls, "app_exit"))
                snprintf(ex, sizeof(ex), "%lld", (long long)e->exit_code);
        if (e->frames) {
                json_t *a = json_loads(e->frames, 0, NULL);
                json_t *fn = json_object_get(json_array_get(a, 0), "function");
                if (json_is_string(fn))
                        snprintf(top, sizeof(top), "%s", json_string_value(fn));
                json_decref(a);
        }
        const char *cells[] = {e->id, recv, e->ueid, e->bucket_id, e->cls, e->component_id,
                               e->component_version, tf, tl, cnt, sig, ex, e->reason,
                               e->fault_addr, e->pc, top, e->detail};
        size_t nc = sizeof(cells) / sizeof(cells[0]);
        for (size_t i = 0; i < nc; i++)
                if (csv_cell(o, cells[i], i + 1 == nc) < 0)
                        return -ENOMEM;
        return 0;
}

static void events_list(struct srv_req *r)
{
        struct srv *s = srv_req_server(r);
        struct srv_page pg;
        struct rp_err e = {0};
        const char *since = srv_req_query(r, "since"), *fmt = srv_req_query(r, "format");
        const char *bucket = srv_req_query(r, "bucket");
        int64_t since_ms = srv_now_ms() - s->failures->retention_ms;
        bool csv = false;
        if (since && srv_time_parse(since, &since_ms) < 0)
                return srv_reply_error(r, 400, "bad_request", "query 'since' must be an RFC 3339 "
                                       "time such as 2026-11-28T15:00:00Z (got '%.40s')", since);
        if (fmt && strcmp(fmt, "json") && strcmp(fmt, "csv"))
                return srv_reply_error(r, 400, "bad_request", "query 'format' must be json or "
                                       "csv (got '%.20s')", fmt);
        csv = fmt && !strcmp(fmt, "csv");
        if (bucket && !bucket_id_valid(bucket))
                return srv_reply_error(r, 400, "bad_request", "query 'bucket' is not a bucket id "
                                       "(32 lowercase hex digits; got '%.40s')", bucket);
        if (srv_req_page(r, &pg) < 0)
                return;
        struct store_failure_event *v = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (store_failure_event_list(srv_req_store(r), srv_req_tenant(r), bucket, since_ms, true,
                                     pg.after, pg.limit, &v, &n, &next, &e) < 0)
                return srv_reply_err(r, &e);
        if (!csv) {
                json_t *items = json_array();
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(items, event_json(&v[i]));
                store_failure_events_free(v, n);
                return srv_reply_page(r, items, next);
        }
        struct rp_buf o = {.max = 64 * 1024 * 1024};
        int k = 0;
        size_t nc = sizeof(csv_columns) / sizeof(csv_columns[0]);
        for (size_t i = 0; i < nc && k == 0; i++)
                k = rp_buf_printf(&o, "%s%s", csv_columns[i], i + 1 == nc ? "\r\n" : ",");
        for (size_t i = 0; i < n && k == 0; i++)
                k = csv_event(&o, &v[i]);
        store_failure_events_free(v, n);
        if (k < 0) {
                rp_buf_free(&o);
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        }
        if (next > 0) {
                char c[24];
                snprintf(c, sizeof(c), "%lld", (long long)next);
                evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Rampart-Next-Cursor",
                                  c);
        }
        srv_reply_text(r, 200, "text/csv; charset=utf-8", o.data, o.len);
        rp_buf_free(&o);
}

/* ---- retention ---- */

static void purge_now(struct srv *s)
{
        struct srv_failures *f = s->failures;
        struct rp_err e = {0};
        int64_t n = 0;
        if (store_failure_purge(s->store, srv_now_ms() - f->retention_ms, &n, &e) < 0) {
                rp_warn("failures", "retention purge failed: %s", e.msg);
                return;
        }
        f->purged += (uint64_t)n;
        if (n)
                rp_info("failures", "retention: deleted %lld event(s) older than %lld s", (long long)n,
                        (long long)(f->retention_ms / 1000));
}

static void purge_timer(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        purge_now(arg);
}

int srv_failures_start(struct srv *s, struct rp_err *err)
{
        struct srv_failures *f = calloc(1, sizeof(*f));
        if (!f)
                return rp_err_set(err, -ENOMEM, "out of memory");
        s->failures = f;
        int64_t ret_s = s->cfg.test_failure_retention_s
                                ? (int64_t)s->cfg.test_failure_retention_s
                                : (int64_t)(s->cfg.failure_retention_days
                                                    ? s->cfg.failure_retention_days
                                                    : SRV_FAIL_RETENTION_DAYS) * 86400;
        f->retention_ms = ret_s * 1000;
        purge_now(s);
        int64_t every = ret_s / 2 < SRV_FAIL_PURGE_INTERVAL_S ? ret_s / 2 : SRV_FAIL_PURGE_INTERVAL_S;
        if (every < 1)
                every = 1;
        f->timer = event_new(s->base, -1, EV_PERSIST, purge_timer, s);
        struct timeval tv = {.tv_sec = every};
        if (!f->timer || event_add(f->timer, &tv) < 0)
                return rp_err_set(err, -ENOMEM, "arming the failure retention timer");
        return 0;
}

void srv_failures_stop(struct srv *s)
{
        if (!s || !s->failures)
                return;
        if (s->failures->timer)
                event_free(s->failures->timer);
        for (unsigned i = 0; i < CA_KEY_CACHE; i++)
                cr_key_free(s->failures->ca_keys[i].key);
        free(s->failures);
        s->failures = NULL;
}

static const struct srv_route routes[] = {
        {"POST", "/device/v1/failures", SRV_AUTH_DEVICE, failures_post, "failure.upload",
         FAIL_MAX_BATCH_BYTES},
        {"GET", "/device/v1/ping", SRV_AUTH_DEVICE, device_ping, "device.ping", 0},
        {"GET", "/api/v1/failures/buckets", SRV_AUTH_READER, buckets_list, "failure.bucket_list", 0},
        {"GET", "/api/v1/failures/buckets/{bucket}", SRV_AUTH_READER, bucket_get,
         "failure.bucket_get", 0},
        {"GET", "/api/v1/failures/events", SRV_AUTH_READER, events_list, "failure.event_list", 0},
};
const struct srv_route_set srv_routes_failures = SRV_ROUTE_SET(routes);
