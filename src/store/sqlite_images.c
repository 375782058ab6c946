/* sqlite_images.c - image package records on SQLite. */
#include <string.h>

#include "store/images.h"
#include "store/sqlite_int.h"

#define IMAGE_COLS                                                                        \
        "seq, id, COALESCE(tenant_id, ''), name, component_id, type, pkg_name, version, svn, " \
        "length, sha256, fwid, feed, created_ms"

static int64_t image_row(sqlite3_stmt *s, void *item)
{
        struct store_image *m = item;
        m->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, m->id, sizeof(m->id)) < 0 ||
            sq_col_text(s, 2, m->tenant_id, sizeof(m->tenant_id)) < 0 ||
            sq_col_text(s, 3, m->name, sizeof(m->name)) < 0 ||
            sq_col_text(s, 4, m->component_id, sizeof(m->component_id)) < 0 ||
            sq_col_text(s, 5, m->type, sizeof(m->type)) < 0 ||
            sq_col_text(s, 6, m->pkg_name, sizeof(m->pkg_name)) < 0 ||
            sq_col_text(s, 7, m->version, sizeof(m->version)) < 0 ||
            sq_col_text(s, 10, m->sha256, sizeof(m->sha256)) < 0 ||
            sq_col_text(s, 11, m->fwid, sizeof(m->fwid)) < 0 ||
            sq_col_text(s, 12, m->feed, sizeof(m->feed)) < 0)
                return -1;
        m->svn = sqlite3_column_int64(s, 8);
        m->length = sqlite3_column_int64(s, 9);
        m->created_ms = sqlite3_column_int64(s, 13);
        return m->seq;
}

static int image_create(struct store *st, const struct store_image *m, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO images (id, tenant_id, name, component_id, type, pkg_name, version, "
                "svn, length, sha256, fwid, feed, created_ms) "
                "VALUES (?1, NULLIF(?2, ''), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, m->id);
        sq_bind_text(s, 2, m->tenant_id);
        sq_bind_text(s, 3, m->name);
        sq_bind_text(s, 4, m->component_id);
        sq_bind_text(s, 5, m->type);
        sq_bind_text(s, 6, m->pkg_name);
        sq_bind_text(s, 7, m->version);
        sq_bind_i64(s, 8, m->svn);
        sq_bind_i64(s, 9, m->length);
        sq_bind_text(s, 10, m->sha256);
        sq_bind_text(s, 11, m->fwid);
        sq_bind_text(s, 12, m->feed);
        sq_bind_i64(s, 13, m->created_ms);
        int r = sq_exec(st, s, err, "store: adding image", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "image '%s' (sha256 %.16s...) is uploaded already",
                                  m->name, m->sha256);
        return r;
}

static int image_get(struct store *st, const char *tenant_id, const char *id,
                     struct store_image *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT " IMAGE_COLS " FROM images WHERE id = ?2 AND "
                                  "(tenant_id IS NULL OR tenant_id = ?1)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, id);
        struct store_image m;
        int r = sq_get(st, s, image_row, &m, err, "store: reading image");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no image '%s'", id);
        if (r == 0)
                *ret = m;
        return r;
}

static int image_get_by_sha256(struct store *st, const char *sha256, struct store_image *ret,
                               struct rp_err *err)
{
        static const char sql[] = "SELECT " IMAGE_COLS " FROM images WHERE sha256 = ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, sha256);
        struct store_image m;
        int r = sq_get(st, s, image_row, &m, err, "store: reading image");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no image with sha256 '%.64s'", sha256);
        if (r == 0)
                *ret = m;
        return r;
}

static int image_list(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                      struct store_image **ret_items, size_t *ret_n, int64_t *ret_next,
                      struct rp_err *err)
{
        static const char sql[] = "SELECT " IMAGE_COLS " FROM images WHERE "
                                  "(tenant_id IS NULL OR tenant_id = ?1) AND seq > ?2 "
                                  "ORDER BY seq LIMIT ?3";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_i64(s, 2, after);
        sq_bind_i64(s, 3, (int64_t)limit + 1);
        return sq_list(st, s, limit, sizeof(struct store_image), image_row, (void **)ret_items,
                       ret_n, ret_next, err, "store: listing images");
}

static int image_os_match(struct store *st, const char *pkg_name, const char *version,
                          int64_t svn, const char *fwid, struct store_image *ret,
                          struct rp_err *err)
{
        static const char sql[] = "SELECT " IMAGE_COLS " FROM images WHERE tenant_id IS NULL "
                                  "AND type = 'os' AND pkg_name = ?1 AND version = ?2 AND "
                                  "svn = ?3 AND fwid = ?4";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, pkg_name);
        sq_bind_text(s, 2, version);
        sq_bind_i64(s, 3, svn);
        sq_bind_text(s, 4, fwid);
        struct store_image m;
        int r = sq_get(st, s, image_row, &m, err, "store: matching OS image");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no released OS image '%s' %s svn %lld with "
                                  "measurement %.16s...", pkg_name, version, (long long)svn, fwid);
        if (r == 0)
                *ret = m;
        return r;
}

struct owner_item {
        char tenant[STORE_ID_MAX];
};

static int64_t owner_row(sqlite3_stmt *s, void *item)
{
        struct owner_item *o = item;
        return sq_col_text(s, 0, o->tenant, sizeof(o->tenant)) < 0 ? -1 : 1;
}

static int image_component_owner(struct store *st, const char *component_id,
                                 char ret[STORE_ID_MAX], struct rp_err *err)
{
        static const char sql[] = "SELECT COALESCE(tenant_id, '') FROM images WHERE "
                                  "component_id = ?1 ORDER BY seq LIMIT 1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, component_id);
        struct owner_item o;
        int r = sq_get(st, s, owner_row, &o, err, "store: reading component owner");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no image of component '%s'", component_id);
        if (r == 0)
                memcpy(ret, o.tenant, STORE_ID_MAX);
        return r;
}

const struct store_image_ops sq_image_ops = {
        .component_owner = image_component_owner,
        .create = image_create,
        .get = image_get,
        .get_by_sha256 = image_get_by_sha256,
        .list = image_list,
        .os_match = image_os_match,
};
