/* sqlite_failures.c - failure batches, events and buckets on SQLite
 * (store/failures.h). Aggregates are updated with the event in the same
 * transaction, so a bucket's counts always equal what was accepted. */
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "store/failures.h"
#include "store/sqlite_int.h"

void store_failure_event_clear(struct store_failure_event *e)
{
        if (!e)
                return;
        free(e->frames);
        free(e->dump);
        memset(e, 0, sizeof(*e));
}

void store_failure_events_free(struct store_failure_event *v, size_t n)
{
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                store_failure_event_clear(&v[i]);
        free(v);
}

#define EV_COLS                                                                             \
        "seq, id, tenant_id, ueid, bucket_id, batch_id, class, component_id, "             \
        "component_version, time_first, time_last, count, signal, si_code, exit_code, "    \
        "fault_addr, pc, reason, detail, received_ms"
#define BK_COLS                                                                             \
        "seq, id, tenant_id, title, class, component_id, hits, devices, events, "          \
        "first_seen_ms, last_seen_ms"

/* Columns EV_COLS then (optionally) frames at column 20. */
static int ev_row(sqlite3_stmt *s, struct store_failure_event *e, bool frames)
{
        e->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, e->id, sizeof(e->id)) < 0 ||
            sq_col_text(s, 2, e->tenant_id, sizeof(e->tenant_id)) < 0 ||
            sq_col_text(s, 3, e->ueid, sizeof(e->ueid)) < 0 ||
            sq_col_text(s, 4, e->bucket_id, sizeof(e->bucket_id)) < 0 ||
            sq_col_text(s, 5, e->batch_id, sizeof(e->batch_id)) < 0 ||
            sq_col_text(s, 6, e->cls, sizeof(e->cls)) < 0 ||
            sq_col_text(s, 7, e->component_id, sizeof(e->component_id)) < 0 ||
            sq_col_text(s, 8, e->component_version, sizeof(e->component_version)) < 0 ||
            sq_col_text(s, 15, e->fault_addr, sizeof(e->fault_addr)) < 0 ||
            sq_col_text(s, 16, e->pc, sizeof(e->pc)) < 0 ||
            sq_col_text(s, 17, e->reason, sizeof(e->reason)) < 0 ||
            sq_col_text(s, 18, e->detail, sizeof(e->detail)) < 0)
                return -EIO;
        e->time_first = sqlite3_column_int64(s, 9);
        e->time_last = sqlite3_column_int64(s, 10);
        e->count = sqlite3_column_int64(s, 11);
        e->signal = sqlite3_column_int64(s, 12);
        e->si_code = sqlite3_column_int64(s, 13);
        e->exit_code = sqlite3_column_int64(s, 14);
        e->received_ms = sqlite3_column_int64(s, 19);
        if (frames) {
                const unsigned char *t = sqlite3_column_text(s, 20);
                e->frames = strdup(t ? (const char *)t : "[]");
                if (!e->frames)
                        return -ENOMEM;
        }
        return 0;
}

/* Steps `s` collecting up to limit rows (one more tells whether a page
 * follows). */
static int ev_collect(struct store *st, sqlite3_stmt *s, size_t limit, bool frames,
                      struct store_failure_event **ret_items, size_t *ret_n, int64_t *ret_next,
                      struct rp_err *err, const char *what)
{
        if (limit == 0 || limit > STORE_LIST_MAX) {
                sqlite3_reset(s);
                return rp_err_set(err, -EINVAL, "%s: limit %zu outside 1..%d", what, limit,
                                  STORE_LIST_MAX);
        }
        struct store_failure_event *v = calloc(limit, sizeof(*v));
        size_t n = 0;
        int64_t next = 0;
        int r = 0;
        if (!v) {
                sqlite3_reset(s);
                return rp_err_set(err, -ENOMEM, "%s: out of memory", what);
        }
        for (;;) {
                int rc = sqlite3_step(s);
                if (rc == SQLITE_DONE)
                        break;
                if (rc != SQLITE_ROW) {
                        r = sq_fail(st, sqlite3_extended_errcode(sq_of(st)->db), err, what);
                        break;
                }
                if (n == limit) {
                        next = v[n - 1].seq;
                        break;
                }
                if (ev_row(s, &v[n], frames) < 0) {
                        store_failure_event_clear(&v[n]);
                        r = rp_err_set(err, -EIO, "%s: stored event %zu does not fit its record",
                                       what, n);
                        break;
                }
                n++;
        }
        sqlite3_reset(s);
        if (r < 0) {
                store_failure_events_free(v, n);
                return r;
        }
        *ret_items = v;
        *ret_n = n;
        if (ret_next)
                *ret_next = next;
        return 0;
}

static int64_t bk_row(sqlite3_stmt *s, void *item)
{
        struct store_failure_bucket *b = item;
        b->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, b->id, sizeof(b->id)) < 0 ||
            sq_col_text(s, 2, b->tenant_id, sizeof(b->tenant_id)) < 0 ||
            sq_col_text(s, 3, b->title, sizeof(b->title)) < 0 ||
            sq_col_text(s, 4, b->cls, sizeof(b->cls)) < 0 ||
            sq_col_text(s, 5, b->component_id, sizeof(b->component_id)) < 0)
                return -1;
        b->hits = sqlite3_column_int64(s, 6);
        b->devices = sqlite3_column_int64(s, 7);
        b->events = sqlite3_column_int64(s, 8);
        b->first_seen_ms = sqlite3_column_int64(s, 9);
        b->last_seen_ms = sqlite3_column_int64(s, 10);
        b->n_versions = 0;
        return b->seq;
}

static int64_t batch_row(sqlite3_stmt *s, void *item)
{
        struct store_failure_batch *b = item;
        if (sq_col_text(s, 0, b->tenant_id, sizeof(b->tenant_id)) < 0 ||
            sq_col_text(s, 1, b->ueid, sizeof(b->ueid)) < 0 ||
            sq_col_text(s, 2, b->batch_id, sizeof(b->batch_id)) < 0 ||
            sq_col_text(s, 3, b->digest, sizeof(b->digest)) < 0)
                return -1;
        b->events = sqlite3_column_int64(s, 4);
        b->dropped = sqlite3_column_int64(s, 5);
        b->received_ms = sqlite3_column_int64(s, 6);
        return 1;
}

static int batch_get(struct store *st, const char *ueid, const char *batch_id,
                     struct store_failure_batch *ret, struct rp_err *err)
{
        static const char sql[] =
                "SELECT tenant_id, ueid, batch_id, digest, events, dropped, received_ms "
                "FROM failure_batches WHERE ueid = ?1 AND batch_id = ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, ueid);
        sq_bind_text(s, 2, batch_id);
        struct store_failure_batch b = {0};
        int r = sq_get(st, s, batch_row, &b, err, "store: reading failure batch");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no batch '%s' of device '%s'", batch_id, ueid);
        if (r == 0)
                *ret = b;
        return r;
}

static int batch_add(struct store *st, const struct store_failure_batch *b, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO failure_batches (ueid, batch_id, tenant_id, digest, events, dropped, "
                "received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, b->ueid);
        sq_bind_text(s, 2, b->batch_id);
        sq_bind_text(s, 3, b->tenant_id);
        sq_bind_text(s, 4, b->digest);
        sq_bind_i64(s, 5, b->events);
        sq_bind_i64(s, 6, b->dropped);
        sq_bind_i64(s, 7, b->received_ms);
        int r = sq_exec(st, s, err, "store: recording failure batch", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "batch '%s' of device '%s' was accepted before",
                                  b->batch_id, b->ueid);
        return r;
}

static int event_add(struct store *st, const struct store_failure_event *e, const char *title,
                     struct rp_err *err)
{
        static const char bk_ins[] =
                "INSERT INTO failure_buckets (tenant_id, id, title, class, component_id, hits, "
                "devices, events, first_seen_ms, last_seen_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, 0, ?6, ?6) "
                "ON CONFLICT (tenant_id, id) DO NOTHING";
        static const char dev_ins[] =
                "INSERT INTO failure_bucket_devices (tenant_id, bucket_id, ueid, hits) "
                "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, bucket_id, ueid) "
                "DO UPDATE SET hits = hits + excluded.hits";
        static const char dev_new[] =
                "SELECT hits = ?4 FROM failure_bucket_devices "
                "WHERE tenant_id = ?1 AND bucket_id = ?2 AND ueid = ?3";
        static const char ver_ins[] =
                "INSERT INTO failure_bucket_versions (tenant_id, bucket_id, version, hits, "
                "devices, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5) "
                "ON CONFLICT (tenant_id, bucket_id, version) DO UPDATE SET "
                "hits = hits + excluded.hits, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)";
        static const char verdev_ins[] =
                "INSERT INTO failure_version_devices (tenant_id, bucket_id, version, ueid) "
                "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
        static const char ver_dev[] =
                "UPDATE failure_bucket_versions SET devices = devices + 1 "
                "WHERE tenant_id = ?1 AND bucket_id = ?2 AND version = ?3";
        static const char bk_upd[] =
                "UPDATE failure_buckets SET hits = hits + ?3, devices = devices + ?4, "
                "events = events + 1, last_seen_ms = max(last_seen_ms, ?5) "
                "WHERE tenant_id = ?1 AND id = ?2";
        static const char ev_ins[] =
                "INSERT INTO failure_events (id, tenant_id, ueid, bucket_id, batch_id, class, "
                "component_id, component_version, time_first, time_last, count, signal, si_code, "
                "exit_code, fault_addr, pc, reason, detail, received_ms, frames, dump) VALUES "
                "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                "?19, ?20, ?21)";
        const char *what = "store: adding failure event";
        int r, changes = 0;
        bool new_dev = false;
        sqlite3_stmt *s;

        if (!e->frames)
                return rp_err_set(err, -EINVAL, "%s: no frames", what);
        if (!(s = sq_stmt(st, bk_ins, err)))
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, e->tenant_id);
        sq_bind_text(s, 2, e->bucket_id);
        sq_bind_text(s, 3, title);
        sq_bind_text(s, 4, e->cls);
        sq_bind_text(s, 5, e->component_id);
        sq_bind_i64(s, 6, e->received_ms);
        if ((r = sq_exec(st, s, err, what, NULL)) < 0)
                return r;

        if (!(s = sq_stmt(st, dev_ins, err)))
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, e->tenant_id);
        sq_bind_text(s, 2, e->bucket_id);
        sq_bind_text(s, 3, e->ueid);
        sq_bind_i64(s, 4, e->count);
        if ((r = sq_exec(st, s, err, what, NULL)) < 0)
                return r;
        /* the row is new when its hits equal this event's count; counts are
         * >= 1, so an existing row always has more after the update */
        if (!(s = sq_stmt(st, dev_new, err)))
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, e->tenant_id);
        sq_bind_text(s, 2, e->bucket_id);
        sq_bind_text(s, 3, e->ueid);
        sq_bind_i64(s, 4, e->count);
        if (sqlite3_step(s) == SQLITE_ROW)
                new_dev = sqlite3_column_int(s, 0) != 0;
        sqlite3_reset(s);

        if (!(s = sq_stmt(st, ver_ins, err)))
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, e->tenant_id);
        sq_bind_text(s, 2, e->bucket_id);
        sq_bind_text(s, 3, e->component_version);
        sq_bind_i64(s, 4, e->count);
        sq_bind_i64(s, 5, e->received_ms);
        if ((r = sq_exec(st, s, err, what, NULL)) < 0)
                return r;
        if (!(s = sq_stmt(st, verdev_ins, err)))
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, e->tenant_id);
        sq_bind_text(s, 2, e->bucket_id);
        sq_bind_text(s, 3, e->component_version);
        sq_bind_text(s, 4, e->ueid);
        if ((r = sq_exec(st, s, err, what, &changes)) < 0)
                return r;
        if (changes) {
                if (!(s = sq_stmt(st, ver_dev, err)))
                        return err ? err->code : -EIO;
                sq_bind_text(s, 1, e->tenant_id);
                sq_bind_text(s, 2, e->bucket_id);
                sq_bind_text(s, 3, e->component_version);
                if ((r = sq_exec(st, s, err, what, NULL)) < 0)
                        return r;
        }

        if (!(s = sq_stmt(st, bk_upd, err)))
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, e->tenant_id);
        sq_bind_text(s, 2, e->bucket_id);
        sq_bind_i64(s, 3, e->count);
        sq_bind_i64(s, 4, new_dev ? 1 : 0);
        sq_bind_i64(s, 5, e->received_ms);
        if ((r = sq_exec(st, s, err, what, NULL)) < 0)
                return r;

        if (!(s = sq_stmt(st, ev_ins, err)))
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, e->id);
        sq_bind_text(s, 2, e->tenant_id);
        sq_bind_text(s, 3, e->ueid);
        sq_bind_text(s, 4, e->bucket_id);
        sq_bind_text(s, 5, e->batch_id);
        sq_bind_text(s, 6, e->cls);
        sq_bind_text(s, 7, e->component_id);
        sq_bind_text(s, 8, e->component_version);
        sq_bind_i64(s, 9, e->time_first);
        sq_bind_i64(s, 10, e->time_last);
        sq_bind_i64(s, 11, e->count);
        sq_bind_i64(s, 12, e->signal);
        sq_bind_i64(s, 13, e->si_code);
        sq_bind_i64(s, 14, e->exit_code);
        sq_bind_text(s, 15, e->fault_addr);
        sq_bind_text(s, 16, e->pc);
        sq_bind_text(s, 17, e->reason);
        sq_bind_text(s, 18, e->detail);
        sq_bind_i64(s, 19, e->received_ms);
        sq_bind_text(s, 20, e->frames);
        if (e->dump && e->dump_len)
                sq_bind_blob(s, 21, e->dump, e->dump_len);
        return sq_exec(st, s, err, what, NULL);
}

static int bucket_list(struct store *st, const char *tenant_id, int64_t offset, size_t limit,
                       struct store_failure_bucket **ret_items, size_t *ret_n, int64_t *ret_next,
                       struct rp_err *err)
{
        static const char sql[] =
                "SELECT " BK_COLS " FROM failure_buckets WHERE tenant_id = ?1 "
                "ORDER BY devices DESC, hits DESC, last_seen_ms DESC, seq LIMIT ?2 OFFSET ?3";
        const char *what = "store: listing failure buckets";
        if (limit == 0 || limit > STORE_LIST_MAX)
                return rp_err_set(err, -EINVAL, "%s: limit %zu outside 1..%d", what, limit,
                                  STORE_LIST_MAX);
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_i64(s, 2, (int64_t)limit + 1);
        sq_bind_i64(s, 3, offset < 0 ? 0 : offset);
        /* sq_list pages by seq; here the order is by impact, so the extra
         * row only says that another page follows at offset + limit */
        int64_t next_seq = 0;
        int r = sq_list(st, s, limit, sizeof(struct store_failure_bucket), bk_row,
                        (void **)ret_items, ret_n, &next_seq, err, what);
        if (r == 0)
                *ret_next = next_seq ? (offset < 0 ? 0 : offset) + (int64_t)limit : 0;
        return r;
}

static int64_t ver_row(sqlite3_stmt *s, void *item)
{
        struct store_failure_version *v = item;
        if (sq_col_text(s, 0, v->version, sizeof(v->version)) < 0)
                return -1;
        v->hits = sqlite3_column_int64(s, 1);
        v->devices = sqlite3_column_int64(s, 2);
        v->first_seen_ms = sqlite3_column_int64(s, 3);
        v->last_seen_ms = sqlite3_column_int64(s, 4);
        return 1;
}

static int bucket_get(struct store *st, const char *tenant_id, const char *id,
                      struct store_failure_bucket *ret, struct rp_err *err)
{
        static const char sql[] =
                "SELECT " BK_COLS " FROM failure_buckets WHERE tenant_id = ?1 AND id = ?2";
        static const char vsql[] =
                "SELECT version, hits, devices, first_seen_ms, last_seen_ms "
                "FROM failure_bucket_versions WHERE tenant_id = ?1 AND bucket_id = ?2 "
                "ORDER BY last_seen_ms DESC, version LIMIT ?3";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, id);
        _cleanup_free_ struct store_failure_bucket *b = calloc(1, sizeof(*b));
        if (!b)
                return rp_err_set(err, -ENOMEM, "out of memory");
        int r = sq_get(st, s, bk_row, b, err, "store: reading failure bucket");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no failure bucket '%s'", id);
        if (r < 0)
                return r;
        if (!(s = sq_stmt(st, vsql, err)))
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, id);
        sq_bind_i64(s, 3, STORE_FAIL_VERSIONS_MAX);
        for (;;) {
                int rc = sqlite3_step(s);
                if (rc == SQLITE_DONE)
                        break;
                if (rc != SQLITE_ROW) {
                        r = sq_fail(st, sqlite3_extended_errcode(sq_of(st)->db), err,
                                    "store: reading bucket versions");
                        sqlite3_reset(s);
                        return r;
                }
                if (b->n_versions == STORE_FAIL_VERSIONS_MAX ||
                    ver_row(s, &b->versions[b->n_versions]) < 0)
                        break;
                b->n_versions++;
        }
        sqlite3_reset(s);
        *ret = *b;
        return 0;
}

static int event_list(struct store *st, const char *tenant_id, const char *bucket_id,
                      int64_t since_ms, bool with_frames, int64_t after, size_t limit,
                      struct store_failure_event **ret_items, size_t *ret_n, int64_t *ret_next,
                      struct rp_err *err)
{
        static const char sql[] =
                "SELECT " EV_COLS ", CASE WHEN ?6 THEN frames END FROM failure_events "
                "WHERE tenant_id = ?1 AND (?2 IS NULL OR bucket_id = ?2) AND received_ms >= ?3 "
                "AND seq > ?4 ORDER BY seq LIMIT ?5";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        if (bucket_id)
                sq_bind_text(s, 2, bucket_id);
        sq_bind_i64(s, 3, since_ms);
        sq_bind_i64(s, 4, after);
        sq_bind_i64(s, 5, (int64_t)limit + 1);
        sq_bind_i64(s, 6, with_frames ? 1 : 0);
        return ev_collect(st, s, limit, with_frames, ret_items, ret_n, ret_next, err,
                          "store: listing failure events");
}

static int event_samples(struct store *st, const char *tenant_id, const char *bucket_id,
                         size_t limit, struct store_failure_event **ret_items, size_t *ret_n,
                         struct rp_err *err)
{
        static const char sql[] =
                "SELECT " EV_COLS ", frames FROM failure_events "
                "WHERE tenant_id = ?1 AND bucket_id = ?2 ORDER BY seq DESC LIMIT ?3";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, bucket_id);
        sq_bind_i64(s, 3, (int64_t)limit);
        return ev_collect(st, s, limit, true, ret_items, ret_n, NULL, err,
                          "store: reading sample events");
}

static int purge(struct store *st, int64_t before_ms, int64_t *ret_n, struct rp_err *err)
{
        static const char del_ev[] = "DELETE FROM failure_events WHERE received_ms < ?1";
        static const char del_batch[] = "DELETE FROM failure_batches WHERE received_ms < ?1";
        static const char recount[] =
                "UPDATE failure_buckets SET events = (SELECT count(*) FROM failure_events e "
                "WHERE e.tenant_id = failure_buckets.tenant_id AND e.bucket_id = failure_buckets.id) "
                "WHERE events > 0";
        int n = 0, r;
        sqlite3_stmt *s = sq_stmt(st, del_ev, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_i64(s, 1, before_ms);
        if ((r = sq_exec(st, s, err, "store: purging failure events", &n)) < 0)
                return r;
        if (!(s = sq_stmt(st, del_batch, err)))
                return err ? err->code : -EIO;
        sq_bind_i64(s, 1, before_ms);
        if ((r = sq_exec(st, s, err, "store: purging failure batches", NULL)) < 0)
                return r;
        if (n > 0) {
                if (!(s = sq_stmt(st, recount, err)))
                        return err ? err->code : -EIO;
                if ((r = sq_exec(st, s, err, "store: recounting bucket events", NULL)) < 0)
                        return r;
        }
        if (ret_n)
                *ret_n = n;
        return 0;
}

const struct store_failure_ops sq_failure_ops = {
        .batch_get = batch_get,
        .batch_add = batch_add,
        .event_add = event_add,
        .bucket_list = bucket_list,
        .bucket_get = bucket_get,
        .event_list = event_list,
        .event_samples = event_samples,
        .purge = purge,
};
