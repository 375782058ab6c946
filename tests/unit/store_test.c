/* store_test.c - the store interface against the SQLite backend: schema
 * migration, durability across reopen, uniqueness, tenant scoping, paging,
 * transactions, hostile strings stored verbatim, and refusal of a database
 * from a newer build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "store/audit.h"
#include "store/ca.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "store/tenants.h"
#include "store/tokens.h"

struct fx {
        char dir[64];
        char path[128];
        struct store *st;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        strcpy(f->dir, "/tmp/rp-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
        struct rp_err err = {0};
        assert_int_equal(store_open(f->path, &f->st, &err), 0);
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

static void mk_tenant(struct store *st, const char *id, const char *name)
{
        struct store_tenant t = {.created_ms = 1000};
        snprintf(t.id, sizeof(t.id), "%s", id);
        snprintf(t.name, sizeof(t.name), "%s", name);
        struct rp_err err = {0};
        assert_int_equal(store_tenant_create(st, &t, &err), 0);
}

static void mk_token(struct store *st, const char *id, const char *tenant, int role, uint8_t b)
{
        struct store_token t = {.role = role, .created_ms = 5};
        snprintf(t.id, sizeof(t.id), "%s", id);
        snprintf(t.tenant_id, sizeof(t.tenant_id), "%s", tenant);
        memset(t.hash, b, sizeof(t.hash));
        struct rp_err err = {0};
        assert_int_equal(store_token_create(st, &t, &err), 0);
}

static void test_schema_and_pragmas(void **state)
{
        struct fx *f = *state;
        assert_int_equal(store_schema_version(f->st), sq_migrations[sq_n_migrations - 1].version);
        struct rp_err err = {0};
        assert_int_equal(store_integrity_check(f->st, &err), 0);
        struct stat sb;
        assert_int_equal(stat(f->path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        /* WAL mode is persistent in the file: check it from outside. */
        sqlite3 *db;
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        sqlite3_stmt *s;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
        sqlite3_finalize(s);
        sqlite3_close(db);
}

static void test_tenant_unique_and_persist(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        mk_tenant(f->st, "ten_a", "Acme");
        struct store_tenant t = {.created_ms = 1};
        strcpy(t.id, "ten_b");
        strcpy(t.name, "Acme");
        assert_int_equal(store_tenant_create(f->st, &t, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "Acme"));
        store_close(f->st);
        assert_int_equal(store_open(f->path, &f->st, &err), 0);
        struct store_tenant got;
        assert_int_equal(store_tenant_get(f->st, "ten_a", &got, &err), 0);
        assert_string_equal(got.name, "Acme");
        assert_int_equal(got.created_ms, 1000);
        assert_int_equal(store_tenant_get(f->st, "ten_zz", &got, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "ten_zz"));
}

static void test_hostile_strings_verbatim(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        const char *evil = "x'); DROP TABLE tenants; -- \"\\ %s %n \xf0\x9f\x92\xa3";
        mk_tenant(f->st, "ten_e", evil);
        struct store_tenant got;
        assert_int_equal(store_tenant_get(f->st, "ten_e", &got, &err), 0);
        assert_string_equal(got.name, evil);
        /* a lookup with SQL in the key finds nothing, and breaks nothing */
        assert_int_equal(store_tenant_get(f->st, "' OR '1'='1", &got, &err), -ENOENT);
        assert_int_equal(store_integrity_check(f->st, &err), 0);
}

static void test_token_scope_and_revoke(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        mk_tenant(f->st, "ten_a", "A");
        mk_tenant(f->st, "ten_b", "B");
        mk_token(f->st, "tok_a1", "ten_a", 3, 0xa1);
        mk_token(f->st, "tok_b1", "ten_b", 1, 0xb1);
        mk_token(f->st, "tok_p", "", 10, 0xcc);

        struct store_token t;
        uint8_t h[32];
        memset(h, 0xb1, sizeof(h));
        assert_int_equal(store_token_find_by_hash(f->st, h, &t, &err), 0);
        assert_string_equal(t.id, "tok_b1");
        assert_string_equal(t.tenant_id, "ten_b");
        memset(h, 0x00, sizeof(h));
        assert_int_equal(store_token_find_by_hash(f->st, h, &t, &err), -ENOENT);

        /* tenant A cannot see or revoke tenant B's token */
        assert_int_equal(store_token_get(f->st, "ten_a", "tok_b1", &t, &err), -ENOENT);
        assert_int_equal(store_token_revoke(f->st, "ten_a", "tok_b1", 99, &err), -ENOENT);
        assert_int_equal(store_token_get(f->st, "ten_b", "tok_b1", &t, &err), 0);
        assert_int_equal(t.revoked_ms, 0);
        /* "" scope = platform tokens only */
        assert_int_equal(store_token_get(f->st, "", "tok_a1", &t, &err), -ENOENT);
        assert_int_equal(store_token_get(f->st, "", "tok_p", &t, &err), 0);
        /* NULL scope = any */
        assert_int_equal(store_token_get(f->st, NULL, "tok_a1", &t, &err), 0);

        assert_int_equal(store_token_revoke(f->st, "ten_b", "tok_b1", 99, &err), 0);
        assert_int_equal(store_token_revoke(f->st, "ten_b", "tok_b1", 100, &err), -EALREADY);
        memset(h, 0xb1, sizeof(h));
        assert_int_equal(store_token_find_by_hash(f->st, h, &t, &err), 0);
        assert_int_equal(t.revoked_ms, 99);

        struct store_token *items = NULL;
        size_t n = 0;
        int64_t next = -1;
        assert_int_equal(store_token_list(f->st, "ten_a", 0, 10, &items, &n, &next, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(items[0].id, "tok_a1");
        assert_int_equal(next, 0);
        free(items);
        /* duplicate hash refused */
        struct store_token dup = {.role = 1};
        strcpy(dup.id, "tok_x");
        strcpy(dup.tenant_id, "ten_a");
        memset(dup.hash, 0xa1, sizeof(dup.hash));
        assert_int_equal(store_token_create(f->st, &dup, &err), -EEXIST);
}

static void test_paging(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        for (int i = 0; i < 25; i++) {
                char id[32], name[32];
                snprintf(id, sizeof(id), "ten_%02d", i);
                snprintf(name, sizeof(name), "tenant %02d", i);
                mk_tenant(f->st, id, name);
        }
        int64_t after = 0;
        int seen = 0, pages = 0;
        do {
                struct store_tenant *items = NULL;
                size_t n = 0;
                int64_t next = 0;
                assert_int_equal(store_tenant_list(f->st, after, 10, &items, &n, &next, &err), 0);
                for (size_t i = 0; i < n; i++) {
                        char want[32];
                        snprintf(want, sizeof(want), "ten_%02d", seen);
                        assert_string_equal(items[i].id, want);
                        seen++;
                }
                free(items);
                pages++;
                after = next;
        } while (after > 0);
        assert_int_equal(seen, 25);
        assert_int_equal(pages, 3);
        struct store_tenant *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        assert_int_equal(store_tenant_list(f->st, 0, 0, &items, &n, &next, &err), -EINVAL);
        assert_int_equal(store_tenant_list(f->st, 0, STORE_LIST_MAX + 1, &items, &n, &next, &err),
                         -EINVAL);
}

static void test_transactions(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        assert_int_equal(store_tx_begin(f->st, &err), 0);
        assert_int_equal(store_tx_begin(f->st, &err), -EBUSY);
        mk_tenant(f->st, "ten_r", "rolled back");
        store_tx_rollback(f->st);
        struct store_tenant t;
        assert_int_equal(store_tenant_get(f->st, "ten_r", &t, &err), -ENOENT);

        assert_int_equal(store_tx_begin(f->st, &err), 0);
        mk_tenant(f->st, "ten_c", "committed");
        assert_int_equal(store_tx_commit(f->st, &err), 0);
        assert_int_equal(store_tx_commit(f->st, &err), -EINVAL);
        store_close(f->st);
        assert_int_equal(store_open(f->path, &f->st, &err), 0);
        assert_int_equal(store_tenant_get(f->st, "ten_c", &t, &err), 0);
}

static void test_audit_and_meta(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        for (int i = 0; i < 3; i++) {
                struct store_audit a = {.at_ms = i, .status = 201};
                strcpy(a.tenant_id, i == 1 ? "ten_b" : "ten_a");
                strcpy(a.actor, "tok_1");
                strcpy(a.action, "token.create");
                strcpy(a.method, "POST");
                strcpy(a.path, "/api/v1/tokens");
                assert_int_equal(store_audit_append(f->st, &a, &err), 0);
        }
        struct store_audit *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        assert_int_equal(store_audit_list(f->st, "ten_a", 0, 10, &items, &n, &next, &err), 0);
        assert_int_equal(n, 2);
        assert_int_equal(items[1].at_ms, 2);
        free(items);
        assert_int_equal(store_audit_list(f->st, NULL, 0, 10, &items, &n, &next, &err), 0);
        assert_int_equal(n, 3);
        free(items);

        char buf[STORE_TEXT_MAX];
        assert_int_equal(store_meta_get(f->st, "bootstrap", buf, sizeof(buf), &err), -ENOENT);
        assert_int_equal(store_meta_set(f->st, "bootstrap", "done", &err), 0);
        assert_int_equal(store_meta_set(f->st, "bootstrap", "again", &err), 0);
        assert_int_equal(store_meta_get(f->st, "bootstrap", buf, sizeof(buf), &err), 0);
        assert_string_equal(buf, "again");
}

static void test_ca_states(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        mk_tenant(f->st, "ten_a", "A");
        struct store_ca c = {.generation = 1, .key_sealed_len = 3, .not_after_ms = 9};
        strcpy(c.id, "ca_1");
        strcpy(c.tenant_id, "ten_a");
        strcpy(c.state, "current");
        strcpy(c.cert_pem, "PEM1");
        memcpy(c.key_sealed, "\x01\x02\x03", 3);
        assert_int_equal(store_ca_create(f->st, &c, &err), 0);
        /* a second "current" for the tenant is refused */
        strcpy(c.id, "ca_2");
        c.generation = 2;
        assert_int_equal(store_ca_create(f->st, &c, &err), -EEXIST);
        strcpy(c.state, "next");
        assert_int_equal(store_ca_create(f->st, &c, &err), 0);
        /* unknown tenant: foreign key */
        strcpy(c.id, "ca_3");
        strcpy(c.tenant_id, "ten_none");
        assert_int_not_equal(store_ca_create(f->st, &c, &err), 0);
        struct store_ca got;
        assert_int_equal(store_ca_get_by_state(f->st, "ten_a", "current", &got, &err), 0);
        assert_string_equal(got.id, "ca_1");
        assert_int_equal(got.key_sealed_len, 3);
        assert_memory_equal(got.key_sealed, "\x01\x02\x03", 3);
        assert_int_equal(store_ca_set_state(f->st, "ten_a", "ca_1", "bogus", &err), -EINVAL);
        assert_int_equal(store_ca_set_state(f->st, "ten_a", "ca_1", "retired", &err), 0);
        assert_int_equal(store_ca_set_state(f->st, "ten_a", "ca_2", "current", &err), 0);
        assert_int_equal(store_ca_get_by_state(f->st, "ten_a", "current", &got, &err), 0);
        assert_string_equal(got.id, "ca_2");
        assert_int_equal(store_ca_get(f->st, "ten_b", "ca_2", &got, &err), -ENOENT);
}

static void test_newer_schema_refused(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        store_close(f->st);
        f->st = NULL;
        sqlite3 *db;
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version (version, name) "
                                          "VALUES (999, 'future')", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(store_open(f->path, &f->st, &err), -EPROTO);
        assert_non_null(strstr(err.msg, "999"));
        assert_int_equal(store_open(f->path, &f->st, &err), -EPROTO);
        assert_int_equal(store_open("postgresql://db/x", &f->st, &err), -EPROTONOSUPPORT);
        /* reopen-able for teardown */
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DELETE FROM schema_version WHERE version = 999", NULL,
                                      NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(store_open(f->path, &f->st, &err), 0);
}

static int obs_calls;
static void obs(void *ctx, const char *op, double s)
{
        (void)ctx;
        if (!strcmp(op, "tenant.get") && s >= 0)
                obs_calls++;
}

static void test_observer(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        store_set_observer(f->st, obs, NULL);
        struct store_tenant t;
        obs_calls = 0;
        assert_int_equal(store_tenant_get(f->st, "ten_none", &t, &err), -ENOENT);
        assert_int_equal(obs_calls, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_schema_and_pragmas, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tenant_unique_and_persist, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostile_strings_verbatim, setup, teardown),
                cmocka_unit_test_setup_teardown(test_token_scope_and_revoke, setup, teardown),
                cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
                cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_audit_and_meta, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ca_states, setup, teardown),
                cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_observer, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
