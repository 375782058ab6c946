/* failures.c - see failures.h. */
#include "runtime/failures.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "failure/bucket.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fault.h"
#include "lib/fileio.h"
#include "lib/log.h"

#define FAILQ_MAGIC "rampart-failq 1 "
#define FAILQ_HDR_LEN (sizeof(FAILQ_MAGIC) - 1 + 2 * CR_SHA256_LEN + 1)

struct failq_entry {
        uint64_t seq;
        bool inflight;
        char key[FAIL_BUCKET_ID_LEN + 1 + FAIL_MAX_VERSION + 1];  /* bucket/version */
        struct fail_event ev;
};

struct rtd_failq {
        char *dir;
        char *path;             /* DIR/queue */
        char *tmp;              /* DIR/queue.tmp */
        int lock_fd;
        unsigned max;
        struct failq_entry *ent;        /* oldest first; capacity max + 1 */
        unsigned n;
        uint64_t next_seq;
        uint32_t dropped;
        uint64_t dropped_total;
        uint64_t recorded_total;
        bool inflight;
        char batch_id[FAIL_BATCH_ID_LEN + 1];
        uint32_t batch_dropped;
        bool recovered_corrupt;
};

static void entries_clear(struct rtd_failq *q)
{
        for (unsigned i = 0; i < q->n; i++)
                fail_event_clear(&q->ent[i].ev);
        q->n = 0;
}

static void remove_at(struct rtd_failq *q, unsigned i)
{
        fail_event_clear(&q->ent[i].ev);
        memmove(&q->ent[i], &q->ent[i + 1], (q->n - i - 1) * sizeof(q->ent[0]));
        q->n--;
}

static int entry_key(const struct fail_event *ev, char *key, size_t cap, struct rp_err *err)
{
        struct fail_bucket b;
        int r = fail_bucket_compute(ev, &b, err);
        if (r < 0)
                return r;
        snprintf(key, cap, "%s/%s", b.id, ev->component_version);
        return 0;
}

/* ---- serialization ---- */

static int state_to_json(const struct rtd_failq *q, char **ret, size_t *ret_len,
                         struct rp_err *err)
{
        json_t *root = json_object(), *arr = json_array();
        char *s;
        int r = -ENOMEM;

        if (!root || !arr)
                goto out;
        if (json_object_set_new(root, "next_seq", json_integer((json_int_t)q->next_seq)) ||
            json_object_set_new(root, "dropped", json_integer(q->dropped)) ||
            json_object_set_new(root, "dropped_total", json_integer((json_int_t)q->dropped_total)) ||
            json_object_set_new(root, "recorded_total",
                                json_integer((json_int_t)q->recorded_total)))
                goto out;
        if (q->inflight) {
                json_t *b = json_pack("{s:s, s:I}", "batch_id", q->batch_id, "dropped",
                                      (json_int_t)q->batch_dropped);
                if (!b || json_object_set_new(root, "inflight", b))
                        goto out;
        }
        for (unsigned i = 0; i < q->n; i++) {
                json_t *ev, *e;
                r = fail_event_to_json(&q->ent[i].ev, &ev, err);
                if (r < 0)
                        goto out;
                r = -ENOMEM;
                e = json_pack("{s:I, s:b, s:o}", "seq", (json_int_t)q->ent[i].seq, "inflight",
                              q->ent[i].inflight, "event", ev);
                if (!e || json_array_append_new(arr, e))
                        goto out;
        }
        if (json_object_set(root, "events", arr))
                goto out;
        s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        if (!s)
                goto out;
        *ret_len = strlen(s);
        *ret = s;
        r = 0;
out:
        json_decref(arr);
        json_decref(root);
        if (r == -ENOMEM)
                rp_err_set(err, r, "out of memory serializing the failure queue");
        return r;
}

/* Writes the whole state: temp file, fsync, rename, fsync of the directory. */
static int persist(struct rtd_failq *q, struct rp_err *err)
{
        _cleanup_free_ char *body = NULL;
        _cleanup_close_ int fd = -1;
        uint8_t digest[CR_SHA256_LEN];
        char hdr[FAILQ_HDR_LEN + 1];
        size_t len;
        int r;

        RP_FAULT_POINT("failq-begin");
        r = state_to_json(q, &body, &len, err);
        if (r < 0)
                return r;
        if (len + FAILQ_HDR_LEN > RTD_FAILQ_MAX_FILE)
                return rp_err_set(err, -EFBIG, "failure queue state is %zu bytes, the limit is %d",
                                  len, RTD_FAILQ_MAX_FILE);
        cr_sha256(body, len, digest);
        memcpy(hdr, FAILQ_MAGIC, sizeof(FAILQ_MAGIC) - 1);
        rp_hex_encode(digest, CR_SHA256_LEN, hdr + sizeof(FAILQ_MAGIC) - 1);
        hdr[FAILQ_HDR_LEN - 1] = '\n';

        fd = open(q->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return rp_err_set(err, -errno, "creating '%s': %s", q->tmp, strerror(errno));
        if ((r = rp_write_all(fd, hdr, FAILQ_HDR_LEN)) < 0 ||
            (r = rp_write_all(fd, body, len)) < 0)
                return rp_err_set(err, r, "writing '%s': %s", q->tmp, strerror(-r));
        if (fsync(fd) < 0)
                return rp_err_set(err, -errno, "fsync of '%s': %s", q->tmp, strerror(errno));
        RP_FAULT_POINT("failq-written");
        if (rename(q->tmp, q->path) < 0)
                return rp_err_set(err, -errno, "renaming '%s' to '%s': %s", q->tmp, q->path,
                                  strerror(errno));
        RP_FAULT_POINT("failq-renamed");
        r = rp_fsync_dir_of(q->path);
        if (r < 0)
                return rp_err_set(err, r, "fsync of the directory of '%s': %s", q->path,
                                  strerror(-r));
        return 0;
}

static int get_u64(json_t *o, const char *k, uint64_t *ret)
{
        json_t *v = json_object_get(o, k);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return -EINVAL;
        *ret = (uint64_t)json_integer_value(v);
        return 0;
}

/* Parses a stored state into q (which is empty). */
static int state_from_file(struct rtd_failq *q, const uint8_t *data, size_t len,
                           struct rp_err *err)
{
        uint8_t want[CR_SHA256_LEN], got[CR_SHA256_LEN];
        json_t *root = NULL, *arr, *inflight;
        json_error_t je;
        uint64_t x;
        int r = -EBADMSG;

        if (len < FAILQ_HDR_LEN || memcmp(data, FAILQ_MAGIC, sizeof(FAILQ_MAGIC) - 1) != 0 ||
            data[FAILQ_HDR_LEN - 1] != '\n')
                return rp_err_set(err, -EBADMSG, "'%s': not a failure queue file", q->path);
        {
                char hex[2 * CR_SHA256_LEN + 1];
                memcpy(hex, data + sizeof(FAILQ_MAGIC) - 1, 2 * CR_SHA256_LEN);
                hex[2 * CR_SHA256_LEN] = '\0';
                if (rp_hex_decode(hex, want, sizeof(want)) < 0)
                        return rp_err_set(err, -EBADMSG, "'%s': bad checksum field", q->path);
        }
        cr_sha256(data + FAILQ_HDR_LEN, len - FAILQ_HDR_LEN, got);
        if (!cr_memeq(want, got, sizeof(want)))
                return rp_err_set(err, -EBADMSG, "'%s': checksum mismatch", q->path);
        root = json_loadb((const char *)data + FAILQ_HDR_LEN, len - FAILQ_HDR_LEN,
                          JSON_REJECT_DUPLICATES, &je);
        if (!root) {
                rp_err_set(err, -EBADMSG, "'%s': invalid JSON: %s", q->path, je.text);
                goto out;
        }
        if (get_u64(root, "next_seq", &q->next_seq) < 0 || get_u64(root, "dropped", &x) < 0 ||
            x > UINT32_MAX)
                goto bad;
        q->dropped = (uint32_t)x;
        if (get_u64(root, "dropped_total", &q->dropped_total) < 0 ||
            get_u64(root, "recorded_total", &q->recorded_total) < 0)
                goto bad;
        inflight = json_object_get(root, "inflight");
        if (inflight) {
                json_t *id = json_object_get(inflight, "batch_id");
                if (!json_is_string(id) || !fail_batch_id_valid(json_string_value(id)) ||
                    get_u64(inflight, "dropped", &x) < 0 || x > UINT32_MAX)
                        goto bad;
                q->inflight = true;
                strcpy(q->batch_id, json_string_value(id));
                q->batch_dropped = (uint32_t)x;
        }
        arr = json_object_get(root, "events");
        if (!json_is_array(arr) || json_array_size(arr) > RTD_FAILQ_MAX_EVENTS)
                goto bad;
        for (size_t i = 0; i < json_array_size(arr); i++) {
                json_t *e = json_array_get(arr, i), *infl;
                struct failq_entry *ent = &q->ent[q->n];
                char what[32];

                snprintf(what, sizeof(what), "events[%zu]", i);
                infl = json_object_get(e, "inflight");
                if (!json_is_boolean(infl) || get_u64(e, "seq", &ent->seq) < 0)
                        goto bad;
                memset(&ent->ev, 0, sizeof(ent->ev));
                r = fail_event_from_json(json_object_get(e, "event"), what, &ent->ev, err);
                if (r < 0) {
                        rp_err_prefix(err, "'%s'", q->path);
                        r = -EBADMSG;
                        goto out;
                }
                ent->inflight = json_is_true(infl);
                q->n++;
                r = entry_key(&ent->ev, ent->key, sizeof(ent->key), err);
                if (r < 0) {
                        r = -EBADMSG;
                        goto out;
                }
                if (ent->inflight && !q->inflight)
                        goto bad;
                if (q->n > 1 && ent->seq <= q->ent[q->n - 2].seq)
                        goto bad;
                if (ent->seq >= q->next_seq)
                        goto bad;
        }
        r = 0;
        goto out;
bad:
        r = rp_err_set(err, -EBADMSG, "'%s': inconsistent queue state", q->path);
out:
        json_decref(root);
        if (r < 0) {
                entries_clear(q);
                q->inflight = false;
                q->next_seq = q->dropped = 0;
                q->dropped_total = q->recorded_total = 0;
        }
        return r;
}

/* Picks the entry to drop when full: the oldest ordinary event not in
 * flight, else the oldest urgent one not in flight; -1 if all are in flight. */
static int pick_victim(const struct rtd_failq *q)
{
        int urgent = -1;
        for (unsigned i = 0; i < q->n; i++) {
                if (q->ent[i].inflight)
                        continue;
                if (!fail_class_urgent(q->ent[i].ev.cls))
                        return (int)i;
                if (urgent < 0)
                        urgent = (int)i;
        }
        return urgent;
}

static void count_drop(struct rtd_failq *q)
{
        if (q->dropped < UINT32_MAX)
                q->dropped++;
        q->dropped_total++;
}

/* Re-reads the stored state after a failed write, so memory never differs
 * from disk. */
static void reload(struct rtd_failq *q)
{
        _cleanup_free_ uint8_t *data = NULL;
        struct rp_err e2;
        size_t len;

        entries_clear(q);
        q->inflight = false;
        q->next_seq = q->dropped = 0;
        q->dropped_total = q->recorded_total = 0;
        if (rp_read_file(q->path, RTD_FAILQ_MAX_FILE, &data, &len, &e2) < 0)
                return;
        if (state_from_file(q, data, len, &e2) < 0)
                rp_warn("failures", "%s", e2.msg);
}

int rtd_failq_open(const char *dir, unsigned max_events, struct rtd_failq **ret,
                   struct rp_err *err)
{
        struct rtd_failq *q;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *lockpath = NULL;
        size_t len;
        bool dirty = false;
        int r;

        if (max_events == 0)
                max_events = RTD_FAILQ_DEFAULT_EVENTS;
        if (max_events < RTD_FAILQ_MIN_EVENTS || max_events > RTD_FAILQ_MAX_EVENTS)
                return rp_err_set(err, -EINVAL, "failure queue size %u is outside %d..%d",
                                  max_events, RTD_FAILQ_MIN_EVENTS, RTD_FAILQ_MAX_EVENTS);
        r = rp_mkdir_p(dir, 0700);
        if (r < 0)
                return rp_err_set(err, r, "creating '%s': %s", dir, strerror(-r));
        q = calloc(1, sizeof(*q));
        if (!q)
                return rp_err_set(err, -ENOMEM, "out of memory");
        q->lock_fd = -1;
        q->max = max_events;
        q->ent = calloc(RTD_FAILQ_MAX_EVENTS + 1, sizeof(*q->ent));
        if (!q->ent || asprintf(&q->dir, "%s", dir) < 0 ||
            asprintf(&q->path, "%s/queue", dir) < 0 || asprintf(&q->tmp, "%s/queue.tmp", dir) < 0 ||
            asprintf(&lockpath, "%s/lock", dir) < 0) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        q->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (q->lock_fd < 0) {
                r = rp_err_set(err, -errno, "opening '%s': %s", lockpath, strerror(errno));
                goto fail;
        }
        if (flock(q->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                r = rp_err_set(err, errno == EWOULDBLOCK ? -EBUSY : -errno,
                               "failure queue '%s' is in use by another process", dir);
                goto fail;
        }
        /* A temp file is a write that never reached its rename: not state. */
        if (unlink(q->tmp) < 0 && errno != ENOENT) {
                r = rp_err_set(err, -errno, "removing '%s': %s", q->tmp, strerror(errno));
                goto fail;
        }
        r = rp_read_file(q->path, RTD_FAILQ_MAX_FILE, &data, &len, err);
        if (r == -ENOENT) {
                dirty = true;
        } else if (r < 0) {
                goto fail;
        } else if (state_from_file(q, data, len, err) < 0) {
                _cleanup_free_ char *bad = NULL;
                rp_warn("failures", "%s; keeping it as queue.corrupt and starting empty",
                        err ? err->msg : "corrupt failure queue");
                if (asprintf(&bad, "%s/queue.corrupt", dir) < 0) {
                        r = rp_err_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
                r = rp_rename_durable(q->path, bad, err);
                if (r < 0)
                        goto fail;
                q->recovered_corrupt = true;
                dirty = true;
        }
        /* A smaller configured size: trim the oldest. */
        while (q->n > q->max) {
                int v = pick_victim(q);
                if (v < 0)
                        break;
                remove_at(q, (unsigned)v);
                count_drop(q);
                dirty = true;
        }
        if (dirty) {
                r = persist(q, err);
                if (r < 0)
                        goto fail;
        }
        *ret = q;
        return 0;
fail:
        rtd_failq_close(q);
        return r;
}

void rtd_failq_close(struct rtd_failq *q)
{
        if (!q)
                return;
        if (q->ent)
                entries_clear(q);
        free(q->ent);
        if (q->lock_fd >= 0)
                close(q->lock_fd);
        free(q->dir);
        free(q->path);
        free(q->tmp);
        free(q);
}

static unsigned dumps_held(const struct rtd_failq *q)
{
        unsigned n = 0;
        for (unsigned i = 0; i < q->n; i++)
                n += q->ent[i].ev.dump != NULL;
        return n;
}

int rtd_failq_record(struct rtd_failq *q, const struct fail_event *ev, struct rp_err *err)
{
        char key[sizeof(q->ent[0].key)];
        struct failq_entry *e;
        int r;

        r = entry_key(ev, key, sizeof(key), err);       /* validates the event */
        if (r < 0)
                return r;
        for (unsigned i = 0; i < q->n; i++) {
                e = &q->ent[i];
                if (e->inflight || strcmp(e->key, key) != 0)
                        continue;
                e->ev.count = (UINT32_MAX - e->ev.count < ev->count) ? UINT32_MAX
                                                                      : e->ev.count + ev->count;
                if (ev->time_first < e->ev.time_first)
                        e->ev.time_first = ev->time_first;
                if (ev->time_last > e->ev.time_last)
                        e->ev.time_last = ev->time_last;
                q->recorded_total++;
                goto write;
        }
        if (q->n >= q->max) {
                int v = pick_victim(q);
                if (v < 0) {
                        /* Cannot happen while a batch takes at most half the
                         * ring; still, the bound wins over the new event. */
                        count_drop(q);
                        q->recorded_total++;
                        goto write;
                }
                remove_at(q, (unsigned)v);
                count_drop(q);
        }
        e = &q->ent[q->n];
        r = fail_event_copy(&e->ev, ev);
        if (r < 0)
                return rp_err_set(err, r, "out of memory");
        if (e->ev.dump && dumps_held(q) >= RTD_FAILQ_MAX_DUMPS) {
                free(e->ev.dump);
                e->ev.dump = NULL;
                e->ev.dump_len = 0;
        }
        e->seq = q->next_seq++;
        e->inflight = false;
        memcpy(e->key, key, sizeof(key));
        q->n++;
        q->recorded_total++;
write:
        r = persist(q, err);
        if (r < 0)
                reload(q);
        return r;
}

void rtd_failq_stats(const struct rtd_failq *q, struct rtd_failq_stats *ret)
{
        struct rtd_failq_stats s = {0};
        for (unsigned i = 0; i < q->n; i++) {
                if (q->ent[i].inflight)
                        s.inflight++;
                else if (fail_class_urgent(q->ent[i].ev.cls))
                        s.urgent = true;
        }
        s.events = q->n;
        s.dropped = q->dropped;
        s.dropped_total = q->dropped_total;
        s.recorded_total = q->recorded_total;
        s.recovered_corrupt = q->recovered_corrupt;
        *ret = s;
}

/* Serializes the batch in flight (deterministic: same state, same bytes). */
static int build_inflight(const struct rtd_failq *q, char **ret_json, size_t *ret_len,
                          struct rp_err *err)
{
        _cleanup_free_ struct fail_event *evs = NULL;
        size_t k = 0;

        evs = calloc(q->n ? q->n : 1, sizeof(*evs));
        if (!evs)
                return rp_err_set(err, -ENOMEM, "out of memory");
        /* urgent first, then by age: the order they were frozen in */
        for (int pass = 0; pass < 2; pass++)
                for (unsigned i = 0; i < q->n; i++)
                        if (q->ent[i].inflight &&
                            fail_class_urgent(q->ent[i].ev.cls) == (pass == 0))
                                evs[k++] = q->ent[i].ev;        /* shallow: borrowed */
        return fail_batch_build(q->batch_id, q->batch_dropped, evs, k, ret_json, ret_len, err);
}

int rtd_failq_take_batch(struct rtd_failq *q, unsigned max_events, char **ret_json,
                         size_t *ret_len, char ret_batch_id[FAIL_BATCH_ID_LEN + 1],
                         struct rp_err *err)
{
        _cleanup_free_ unsigned *pick = NULL;
        uint8_t rnd[FAIL_BATCH_ID_LEN / 2];
        unsigned limit = q->max / 2, k = 0;
        char *json = NULL;
        size_t len = 0;
        int r;

        if (q->inflight) {
                r = build_inflight(q, ret_json, ret_len, err);
                if (r < 0)
                        return r;
                memcpy(ret_batch_id, q->batch_id, sizeof(q->batch_id));
                return 0;
        }
        if (limit > FAIL_MAX_BATCH_EVENTS)
                limit = FAIL_MAX_BATCH_EVENTS;
        if (max_events && max_events < limit)
                limit = max_events;
        pick = calloc(q->n ? q->n : 1, sizeof(*pick));
        if (!pick)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (int pass = 0; pass < 2; pass++)
                for (unsigned i = 0; i < q->n && k < limit; i++)
                        if (fail_class_urgent(q->ent[i].ev.cls) == (pass == 0))
                                pick[k++] = i;
        if (k == 0)
                return rp_err_set(err, -ENODATA, "no failure events waiting");
        r = cr_random(rnd, sizeof(rnd));
        if (r < 0)
                return rp_err_set(err, r, "no randomness for the batch id");
        rp_hex_encode(rnd, sizeof(rnd), q->batch_id);
        q->batch_dropped = q->dropped;
        /* Shrink until the body fits the upload cap (crash dumps are large). */
        for (;;) {
                for (unsigned i = 0; i < q->n; i++)
                        q->ent[i].inflight = false;
                for (unsigned i = 0; i < k; i++)
                        q->ent[pick[i]].inflight = true;
                q->inflight = true;
                r = build_inflight(q, &json, &len, err);
                if (r != -E2BIG || k == 1)
                        break;
                k = (k + 1) / 2;
        }
        if (r < 0)
                goto undo;
        r = persist(q, err);
        if (r < 0) {
                free(json);
                reload(q);
                return r;
        }
        memcpy(ret_batch_id, q->batch_id, sizeof(q->batch_id));
        *ret_json = json;
        *ret_len = len;
        return 0;
undo:
        for (unsigned i = 0; i < q->n; i++)
                q->ent[i].inflight = false;
        q->inflight = false;
        return r;
}

int rtd_failq_ack(struct rtd_failq *q, const char *batch_id, struct rp_err *err)
{
        int r;

        if (!q->inflight)
                return rp_err_set(err, -ENOENT, "acknowledged batch '%.40s' but none is in flight",
                                  batch_id);
        if (strcmp(batch_id, q->batch_id) != 0)
                return rp_err_set(err, -ESTALE,
                                  "acknowledged batch '%.40s' is not the batch in flight ('%s')",
                                  batch_id, q->batch_id);
        for (unsigned i = q->n; i > 0; i--)
                if (q->ent[i - 1].inflight)
                        remove_at(q, i - 1);
        q->dropped = q->dropped >= q->batch_dropped ? q->dropped - q->batch_dropped : 0;
        q->inflight = false;
        q->batch_id[0] = '\0';
        q->batch_dropped = 0;
        r = persist(q, err);
        if (r < 0)
                reload(q);
        return r;
}

int rtd_failq_get(const struct rtd_failq *q, unsigned i, struct fail_event *ret,
                  bool *ret_inflight)
{
        int r;

        if (i >= q->n)
                return -ENOENT;
        r = fail_event_copy(ret, &q->ent[i].ev);
        if (r < 0)
                return r;
        if (ret_inflight)
                *ret_inflight = q->ent[i].inflight;
        return 0;
}
