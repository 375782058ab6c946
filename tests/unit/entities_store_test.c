/* entities_store_test.c - the manufacturer registry, products, device
 * groups and devices on the SQLite store: claim once into one tenant,
 * tenant scoping of every lookup, groups only under the tenant's own
 * products, schema CHECKs behind the route validation, filters and paging,
 * and state changes. */
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
#include "store/devices.h"
#include "store/groups.h"
#include "store/products.h"
#include "store/registry.h"
#include "store/store.h"
#include "store/tenants.h"

struct fx {
        char dir[64];
        char path[128];
        struct store *st;
};

static void mk_tenant(struct store *st, const char *id)
{
        struct store_tenant t = {.created_ms = 1};
        snprintf(t.id, sizeof(t.id), "%s", id);
        snprintf(t.name, sizeof(t.name), "name-%s", id);
        struct rp_err err = {0};
        assert_int_equal(store_tenant_create(st, &t, &err), 0);
}

static void mk_product(struct store *st, const char *tenant, const char *id, const char *name)
{
        struct store_product p = {.created_ms = 2, .updated_ms = 2};
        snprintf(p.id, sizeof(p.id), "%s", id);
        snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", tenant);
        snprintf(p.name, sizeof(p.name), "%s", name);
        struct rp_err err = {0};
        assert_int_equal(store_product_create(st, &p, &err), 0);
}

static int mk_group(struct store *st, const char *tenant, const char *product, const char *id,
                    const char *name, const char *policy, const char *feed, struct rp_err *err)
{
        struct store_group g = {.created_ms = 3, .updated_ms = 3, .debug_allowed = true};
        snprintf(g.id, sizeof(g.id), "%s", id);
        snprintf(g.tenant_id, sizeof(g.tenant_id), "%s", tenant);
        snprintf(g.product_id, sizeof(g.product_id), "%s", product);
        snprintf(g.name, sizeof(g.name), "%s", name);
        snprintf(g.update_policy, sizeof(g.update_policy), "%s", policy);
        snprintf(g.os_feed, sizeof(g.os_feed), "%s", feed);
        return store_group_create(st, &g, err);
}

static void mk_record(struct store *st, const char *ueid, bool debug)
{
        struct store_registry_record *r = calloc(1, sizeof(*r));
        assert_non_null(r);
        snprintf(r->ueid, sizeof(r->ueid), "%s", ueid);
        snprintf(r->manufacturer_id, sizeof(r->manufacturer_id), "mfr_1");
        memset(r->deviceid_pub, ueid[0], 91);
        r->deviceid_pub_len = 91;
        snprintf(r->deviceid_cert, sizeof(r->deviceid_cert), "cert-%s", ueid);
        snprintf(r->device_ca, sizeof(r->device_ca), "ca");
        r->debug = debug;
        r->provisioned_ms = 10;
        r->imported_ms = 11;
        struct rp_err err = {0};
        assert_int_equal(store_registry_add(st, r, &err), 0);
        free(r);
}

#define U1 "1111111111111111111111111111111111111111"
#define U2 "2222222222222222222222222222222222222222"
#define U3 "3333333333333333333333333333333333333333"

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        strcpy(f->dir, "/tmp/rp-ent-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
        struct rp_err err = {0};
        assert_int_equal(store_open(f->path, &f->st, &err), 0);
        mk_tenant(f->st, "ten_a");
        mk_tenant(f->st, "ten_b");
        struct store_manufacturer m = {.not_after_ms = 9, .created_ms = 1};
        strcpy(m.id, "mfr_1");
        strcpy(m.name, "Acme");
        memset(m.fingerprint, 'a', 64);
        strcpy(m.subject, "Acme Root");
        strcpy(m.cert_pem, "pem");
        assert_int_equal(store_mfr_create(f->st, &m, &err), 0);
        mk_record(f->st, U1, false);
        mk_record(f->st, U2, true);
        mk_record(f->st, U3, false);
        mk_product(f->st, "ten_a", "prd_a", "Widget");
        mk_product(f->st, "ten_b", "prd_b", "Widget");
        assert_int_equal(mk_group(f->st, "ten_a", "prd_a", "grp_a1", "Dev", "update-all", "retail", &err), 0);
        assert_int_equal(mk_group(f->st, "ten_a", "prd_a", "grp_a2", "Prod", "no-updates", "retail-eval", &err), 0);
        assert_int_equal(mk_group(f->st, "ten_b", "prd_b", "grp_b1", "Dev", "update-all", "retail", &err), 0);
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

static void test_registry(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        struct store_registry_record *r = calloc(1, sizeof(*r));
        assert_int_equal(store_registry_get(f->st, U2, r, &err), 0);
        assert_true(r->debug);
        assert_int_equal(r->deviceid_pub_len, 91);
        assert_string_equal(r->deviceid_cert, "cert-" U2);
        /* the same UEID again, and an unknown manufacturer */
        assert_int_equal(store_registry_add(f->st, r, &err), -EEXIST);
        snprintf(r->ueid, sizeof(r->ueid), "4444444444444444444444444444444444444444");
        strcpy(r->manufacturer_id, "mfr_nope");
        assert_int_equal(store_registry_add(f->st, r, &err), -ENOENT);
        free(r);
        struct store_registry_record *items = NULL;
        size_t n = 0;
        int64_t next = 0, count = 0;
        assert_int_equal(store_registry_list(f->st, 0, 2, &items, &n, &next, &err), 0);
        assert_int_equal(n, 2);
        assert_true(next > 0);
        assert_string_equal(items[0].ueid, U1);
        assert_string_equal(items[0].deviceid_cert, "");        /* lists leave PEMs out */
        free(items);
        assert_int_equal(store_registry_count(f->st, &count, &err), 0);
        assert_int_equal(count, 3);
}

static void test_groups_scoped_and_checked(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        /* tenant A cannot put a group under B's product */
        assert_int_equal(mk_group(f->st, "ten_a", "prd_b", "grp_x", "X", "update-all", "retail", &err),
                         -ENOENT);
        /* values the routes refuse are refused by the schema as well */
        assert_int_equal(mk_group(f->st, "ten_a", "prd_a", "grp_y", "Y", "sometimes", "retail", &err),
                         -EINVAL);
        assert_int_equal(mk_group(f->st, "ten_a", "prd_a", "grp_z", "Z", "update-all", "beta", &err),
                         -EINVAL);
        assert_int_equal(mk_group(f->st, "ten_a", "prd_a", "grp_w", "Dev", "update-all", "retail", &err),
                         -EEXIST);
        struct store_group g;
        assert_int_equal(store_group_get(f->st, "ten_b", "grp_a1", &g, &err), -ENOENT);
        assert_int_equal(store_group_get(f->st, "ten_a", "grp_a2", &g, &err), 0);
        assert_string_equal(g.update_policy, "no-updates");
        assert_true(g.debug_allowed);
        strcpy(g.tenant_id, "ten_b");           /* an update in the wrong tenant finds nothing */
        strcpy(g.os_feed, "retail");
        assert_int_equal(store_group_update(f->st, &g, &err), -ENOENT);
        strcpy(g.tenant_id, "ten_a");
        assert_int_equal(store_group_update(f->st, &g, &err), 0);
        struct store_group *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        assert_int_equal(store_group_list(f->st, "ten_a", "prd_a", 0, 10, &items, &n, &next, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(items[1].os_feed, "retail");
        free(items);
        assert_int_equal(store_group_list(f->st, "ten_a", "prd_b", 0, 10, &items, &n, &next, &err), 0);
        assert_int_equal(n, 0);
        free(items);
        struct store_product p;
        assert_int_equal(store_product_get(f->st, "ten_b", "prd_a", &p, &err), -ENOENT);
}

static void test_claim_once(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        assert_int_equal(store_device_claim(f->st, "ten_a", U1, "grp_a1", 100, &err), 0);
        assert_int_equal(store_device_claim(f->st, "ten_a", U1, "grp_a2", 101, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "this tenant"));
        rp_err_clear(&err);
        assert_int_equal(store_device_claim(f->st, "ten_b", U1, "grp_b1", 102, &err), -EEXIST);
        assert_null(strstr(err.msg, "ten_a"));
        /* unregistered device; another tenant's group */
        assert_int_equal(store_device_claim(f->st, "ten_a", "5555555555555555555555555555555555555555",
                                            "grp_a1", 1, &err), -ENOENT);
        assert_int_equal(store_device_claim(f->st, "ten_a", U2, "grp_b1", 1, &err), -ENOENT);

        struct store_device *d = calloc(1, sizeof(*d));
        assert_int_equal(store_device_get(f->st, "ten_b", U1, d, &err), -ENOENT);
        assert_int_equal(store_device_get(f->st, "ten_a", U1, d, &err), 0);
        assert_string_equal(d->product_id, "prd_a");
        assert_string_equal(d->state, "active");
        assert_int_equal(d->last_attest_ms, 0);
        assert_string_equal(d->manufacturer_id, "mfr_1");
        /* moves stay inside the tenant */
        assert_int_equal(store_device_move(f->st, "ten_a", U1, "grp_b1", 5, &err), -ENOENT);
        assert_int_equal(store_device_move(f->st, "ten_b", U1, "grp_b1", 5, &err), -ENOENT);
        assert_int_equal(store_device_move(f->st, "ten_a", U1, "grp_a2", 5, &err), 0);
        assert_int_equal(store_device_get(f->st, "ten_a", U1, d, &err), 0);
        assert_string_equal(d->group_id, "grp_a2");
        /* state changes */
        assert_int_equal(store_device_set_state(f->st, "ten_b", U1, "blocked", "x", 6, &err), -ENOENT);
        assert_int_equal(store_device_set_state(f->st, "ten_a", U1, "blocked", "stolen", 6, &err), 0);
        assert_int_equal(store_device_set_state(f->st, "ten_a", U1, "blocked", "again", 7, &err), -EALREADY);
        assert_int_equal(store_device_set_state(f->st, "ten_a", U1, "gone", "", 7, &err), -EINVAL);
        assert_int_equal(store_device_get(f->st, "ten_a", U1, d, &err), 0);
        assert_string_equal(d->block_reason, "stolen");
        free(d);
        assert_int_equal(store_integrity_check(f->st, &err), 0);
}

static void test_device_filters_paging(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        assert_int_equal(store_device_claim(f->st, "ten_a", U1, "grp_a1", 1, &err), 0);
        assert_int_equal(store_device_claim(f->st, "ten_a", U2, "grp_a2", 1, &err), 0);
        assert_int_equal(store_device_claim(f->st, "ten_a", U3, "grp_a1", 1, &err), 0);
        assert_int_equal(store_device_set_state(f->st, "ten_a", U3, "blocked", "", 2, &err), 0);
        struct store_device *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct store_device_filter byg = {.group_id = "grp_a1"};
        assert_int_equal(store_device_list(f->st, "ten_a", &byg, 0, 10, &items, &n, &next, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(items[0].ueid, U1);
        assert_string_equal(items[1].ueid, U3);
        free(items);
        struct store_device_filter both = {.group_id = "grp_a1", .state = "active", .product_id = "prd_a"};
        assert_int_equal(store_device_list(f->st, "ten_a", &both, 0, 10, &items, &n, &next, &err), 0);
        assert_int_equal(n, 1);
        assert_true(items[0].debug == false);
        free(items);
        assert_int_equal(store_device_list(f->st, "ten_b", NULL, 0, 10, &items, &n, &next, &err), 0);
        assert_int_equal(n, 0);
        free(items);
        assert_int_equal(store_device_list(f->st, "ten_a", NULL, 0, 2, &items, &n, &next, &err), 0);
        assert_int_equal(n, 2);
        assert_true(next > 0);
        free(items);
        assert_int_equal(store_device_list(f->st, "ten_a", NULL, next, 2, &items, &n, &next, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(items[0].ueid, U3);
        assert_int_equal(next, 0);
        free(items);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_groups_scoped_and_checked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_device_filters_paging, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
