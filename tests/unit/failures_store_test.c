/* failures_store_test.c - failure batches, events and buckets on the SQLite
 * store: aggregates (hits, distinct devices overall and per version),
 * batch idempotency records, ordering by impact and paging, tenant
 * scoping, samples with frames, and retention (events and batch records go,
 * bucket counts stay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "store/failures.h"
#include "store/store.h"
#include "store/tenants.h"

#define U1 "1111111111111111111111111111111111111111"
#define U2 "2222222222222222222222222222222222222222"
#define U3 "3333333333333333333333333333333333333333"
#define BK_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define BK_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct fx {
        char dir[64];
        char path[128];
        struct store *st;
        unsigned n;
};

static void mk_tenant(struct store *st, const char *id)
{
        struct store_tenant t = {.created_ms = 1};
        snprintf(t.id, sizeof(t.id), "%s", id);
        snprintf(t.name, sizeof(t.name), "name-%s", id);
        struct rp_err err = {0};
        assert_int_equal(store_tenant_create(st, &t, &err), 0);
}

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        strcpy(f->dir, "/tmp/rp-fst-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
        struct rp_err err = {0};
        assert_int_equal(store_open(f->path, &f->st, &err), 0);
        mk_tenant(f->st, "ten_a");
        mk_tenant(f->st, "ten_b");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        store_close(f->st);
        assert_int_equal(rp_rm_rf(f->dir), 0);
        free(f);
        return 0;
}

/* One event in its own committed batch. */
static void add(struct fx *f, const char *tenant, const char *ueid, const char *bucket,
                const char *version, int64_t count, int64_t at_ms)
{
        struct rp_err err = {0};
        struct store_failure_batch b = {.events = 1, .received_ms = at_ms};
        struct store_failure_event e = {.count = count, .received_ms = at_ms, .signal = 11,
                                        .time_first = 1700000000, .time_last = 1700000000};
        f->n++;
        snprintf(b.tenant_id, sizeof(b.tenant_id), "%s", tenant);
        snprintf(b.ueid, sizeof(b.ueid), "%s", ueid);
        snprintf(b.batch_id, sizeof(b.batch_id), "%032x", f->n);
        memset(b.digest, 'd', 64);
        snprintf(e.id, sizeof(e.id), "fev_%032x", f->n);
        snprintf(e.tenant_id, sizeof(e.tenant_id), "%s", tenant);
        snprintf(e.ueid, sizeof(e.ueid), "%s", ueid);
        snprintf(e.bucket_id, sizeof(e.bucket_id), "%s", bucket);
        snprintf(e.batch_id, sizeof(e.batch_id), "%s", b.batch_id);
        strcpy(e.cls, "app_crash");
        strcpy(e.component_id, "telemetry");
        snprintf(e.component_version, sizeof(e.component_version), "%s", version);
        strcpy(e.fault_addr, "0x0");
        strcpy(e.pc, "0x1000");
        e.frames = "[{\"module\":\"app\",\"function\":\"parse\"}]";
        assert_int_equal(store_tx_begin(f->st, &err), 0);
        assert_int_equal(store_failure_batch_add(f->st, &b, &err), 0);
        assert_int_equal(store_failure_event_add(f->st, &e, "telemetry: SIGSEGV in parse", &err), 0);
        assert_int_equal(store_tx_commit(f->st, &err), 0);
}

static void test_aggregates(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        add(f, "ten_a", U1, BK_A, "1.3", 2, 1000);
        add(f, "ten_a", U1, BK_A, "1.3", 1, 2000);
        add(f, "ten_a", U2, BK_A, "1.3", 1, 3000);
        add(f, "ten_a", U2, BK_A, "1.4", 5, 4000);
        add(f, "ten_a", U3, BK_B, "1.4", 1, 5000);
        struct store_failure_bucket *b = calloc(1, sizeof(*b));
        assert_int_equal(store_failure_bucket_get(f->st, "ten_a", BK_A, b, &err), 0);
        assert_int_equal(b->hits, 9);
        assert_int_equal(b->devices, 2);
        assert_int_equal(b->events, 4);
        assert_int_equal(b->first_seen_ms, 1000);
        assert_int_equal(b->last_seen_ms, 4000);
        assert_int_equal(b->n_versions, 2);
        /* newest first */
        assert_string_equal(b->versions[0].version, "1.4");
        assert_int_equal(b->versions[0].hits, 5);
        assert_int_equal(b->versions[0].devices, 1);
        assert_string_equal(b->versions[1].version, "1.3");
        assert_int_equal(b->versions[1].hits, 4);
        assert_int_equal(b->versions[1].devices, 2);
        assert_int_equal(b->versions[1].first_seen_ms, 1000);
        /* tenant scoping: the same id elsewhere is not found */
        assert_int_equal(store_failure_bucket_get(f->st, "ten_b", BK_A, b, &err), -ENOENT);
        free(b);
}

static void test_batches(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        add(f, "ten_a", U1, BK_A, "1.0", 1, 1000);
        struct store_failure_batch b;
        char id[40];
        snprintf(id, sizeof(id), "%032x", f->n);
        assert_int_equal(store_failure_batch_get(f->st, U1, id, &b, &err), 0);
        assert_string_equal(b.tenant_id, "ten_a");
        assert_int_equal(b.events, 1);
        /* per device: another device's batch of the same id is unknown */
        assert_int_equal(store_failure_batch_get(f->st, U2, id, &b, &err), -ENOENT);
        /* a second record of the same (device, id) is a conflict */
        b.received_ms = 2;
        assert_int_equal(store_failure_batch_add(f->st, &b, &err), -EEXIST);
        assert_non_null(strstr(err.msg, id));
}

static void test_list_by_impact_and_paging(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        char bk[8][40];
        /* bucket i: i devices, one hit each; bucket 0 gets many hits on one device */
        for (int i = 0; i < 6; i++) {
                snprintf(bk[i], sizeof(bk[i]), "%032x", 0xb0 + i);
                for (int d = 0; d < i; d++) {
                        char u[48];
                        snprintf(u, sizeof(u), "%040x", d + 1);
                        add(f, "ten_a", u, bk[i], "1", 1, 100 + i);
                }
        }
        add(f, "ten_a", U1, bk[0], "1", 50, 99);
        add(f, "ten_b", U1, BK_B, "1", 1, 99);
        struct store_failure_bucket *v = NULL;
        size_t n = 0;
        int64_t next = 0;
        assert_int_equal(store_failure_bucket_list(f->st, "ten_a", 0, 4, &v, &n, &next, &err), 0);
        assert_int_equal(n, 4);
        assert_int_equal(next, 4);
        assert_string_equal(v[0].id, bk[5]);
        assert_string_equal(v[1].id, bk[4]);
        assert_string_equal(v[3].id, bk[2]);
        free(v);
        assert_int_equal(store_failure_bucket_list(f->st, "ten_a", next, 4, &v, &n, &next, &err), 0);
        assert_int_equal(n, 2);
        assert_int_equal(next, 0);
        /* one device each: more hits first */
        assert_string_equal(v[0].id, bk[0]);
        assert_int_equal(v[0].hits, 50);
        assert_string_equal(v[1].id, bk[1]);
        free(v);
}

static void test_events_and_samples(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        for (int i = 0; i < 7; i++)
                add(f, "ten_a", U1, BK_A, "2", 1, 1000 + i);
        add(f, "ten_b", U2, BK_A, "2", 1, 5000);
        struct store_failure_event *v = NULL;
        size_t n = 0;
        int64_t next = 0;
        assert_int_equal(store_failure_event_list(f->st, "ten_a", NULL, 1003, true, 0, 3, &v, &n,
                                                  &next, &err), 0);
        assert_int_equal(n, 3);
        assert_true(next > 0);
        assert_int_equal(v[0].received_ms, 1003);
        assert_non_null(v[0].frames);
        assert_non_null(strstr(v[0].frames, "parse"));
        store_failure_events_free(v, n);
        assert_int_equal(store_failure_event_list(f->st, "ten_a", BK_A, 0, false, next, 10, &v,
                                                  &n, &next, &err), 0);
        assert_int_equal(n, 1);
        assert_null(v[0].frames);
        assert_int_equal(next, 0);
        store_failure_events_free(v, n);
        assert_int_equal(store_failure_event_samples(f->st, "ten_a", BK_A, 5, &v, &n, &err), 0);
        assert_int_equal(n, 5);
        assert_int_equal(v[0].received_ms, 1006);      /* newest first */
        for (size_t i = 0; i < n; i++)
                assert_string_equal(v[i].tenant_id, "ten_a");
        store_failure_events_free(v, n);
}

static void test_purge_keeps_aggregates(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        add(f, "ten_a", U1, BK_A, "1", 3, 1000);
        add(f, "ten_a", U2, BK_A, "1", 1, 2000);
        add(f, "ten_a", U2, BK_A, "2", 1, 9000);
        int64_t purged = 0;
        assert_int_equal(store_failure_purge(f->st, 5000, &purged, &err), 0);
        assert_int_equal(purged, 2);
        struct store_failure_bucket *b = calloc(1, sizeof(*b));
        assert_int_equal(store_failure_bucket_get(f->st, "ten_a", BK_A, b, &err), 0);
        assert_int_equal(b->hits, 5);
        assert_int_equal(b->devices, 2);
        assert_int_equal(b->events, 1);
        free(b);
        struct store_failure_batch bt;
        char id[40];
        snprintf(id, sizeof(id), "%032x", 1u);
        assert_int_equal(store_failure_batch_get(f->st, U1, id, &bt, &err), -ENOENT);
        /* nothing older left: a second purge deletes nothing */
        assert_int_equal(store_failure_purge(f->st, 5000, &purged, &err), 0);
        assert_int_equal(purged, 0);
        assert_int_equal(store_integrity_check(f->st, &err), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_aggregates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_by_impact_and_paging, setup, teardown),
                cmocka_unit_test_setup_teardown(test_events_and_samples, setup, teardown),
                cmocka_unit_test_setup_teardown(test_purge_keeps_aggregates, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
