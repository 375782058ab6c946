/* sqlite_deploy.c - deployments and per-device status on SQLite. A
 * deployment's image ids are kept in order as one space-separated column
 * (at most STORE_DEPLOY_MAX_IMAGES ids, each [a-z0-9_]). */
#include <stdio.h>
#include <string.h>

#include "store/deploy.h"
#include "store/sqlite_int.h"

#define DEPLOY_COLS "seq, id, tenant_id, group_id, images, created_ms"
#define DEPLOY_IMAGES_MAX (STORE_DEPLOY_MAX_IMAGES * STORE_ID_MAX)

static int64_t deploy_row(sqlite3_stmt *s, void *item)
{
        struct store_deployment *d = item;
        char ids[DEPLOY_IMAGES_MAX];
        d->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, d->id, sizeof(d->id)) < 0 ||
            sq_col_text(s, 2, d->tenant_id, sizeof(d->tenant_id)) < 0 ||
            sq_col_text(s, 3, d->group_id, sizeof(d->group_id)) < 0 ||
            sq_col_text(s, 4, ids, sizeof(ids)) < 0)
                return -1;
        d->n_images = 0;
        char *save = NULL;
        for (char *t = strtok_r(ids, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (d->n_images >= STORE_DEPLOY_MAX_IMAGES || strlen(t) >= STORE_ID_MAX)
                        return -1;
                snprintf(d->image_ids[d->n_images++], STORE_ID_MAX, "%s", t);
        }
        d->created_ms = sqlite3_column_int64(s, 5);
        return d->seq;
}

static int deploy_create(struct store *st, const struct store_deployment *d, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO deployments (id, tenant_id, group_id, images, created_ms) "
                "SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS "
                "(SELECT 1 FROM device_groups WHERE tenant_id = ?2 AND id = ?3)";
        char ids[DEPLOY_IMAGES_MAX] = "";
        size_t off = 0;
        if (d->n_images > STORE_DEPLOY_MAX_IMAGES)
                return rp_err_set(err, -EINVAL, "a deployment lists at most %d images",
                                  STORE_DEPLOY_MAX_IMAGES);
        for (size_t i = 0; i < d->n_images; i++) {
                int n = snprintf(ids + off, sizeof(ids) - off, "%s%s", i ? " " : "",
                                 d->image_ids[i]);
                if (n < 0 || (size_t)n >= sizeof(ids) - off)
                        return rp_err_set(err, -EINVAL, "image id list too long");
                off += (size_t)n;
        }
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, d->id);
        sq_bind_text(s, 2, d->tenant_id);
        sq_bind_text(s, 3, d->group_id);
        sq_bind_text(s, 4, ids);
        sq_bind_i64(s, 5, d->created_ms);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: creating deployment", &changes);
        if (r == 0 && changes == 0)
                return rp_err_set(err, -ENOENT, "no device group '%s'", d->group_id);
        return r;
}

static int deploy_get(struct store *st, const char *tenant_id, const char *id,
                      struct store_deployment *ret, struct rp_err *err)
{
        static const char sql[] =
                "SELECT " DEPLOY_COLS " FROM deployments WHERE tenant_id = ?1 AND id = ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, id);
        struct store_deployment d;
        int r = sq_get(st, s, deploy_row, &d, err, "store: reading deployment");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no deployment '%s'", id);
        if (r == 0)
                *ret = d;
        return r;
}

static int deploy_list(struct store *st, const char *tenant_id, const char *group_id,
                       int64_t after, size_t limit, struct store_deployment **ret_items,
                       size_t *ret_n, int64_t *ret_next, struct rp_err *err)
{
        static const char sql[] = "SELECT " DEPLOY_COLS " FROM deployments WHERE tenant_id = ?1 "
                                  "AND (?4 IS NULL OR group_id = ?4) AND seq > ?2 "
                                  "ORDER BY seq LIMIT ?3";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_i64(s, 2, after);
        sq_bind_i64(s, 3, (int64_t)limit + 1);
        if (group_id)
                sq_bind_text(s, 4, group_id);
        else
                sqlite3_bind_null(s, 4);
        return sq_list(st, s, limit, sizeof(struct store_deployment), deploy_row,
                       (void **)ret_items, ret_n, ret_next, err, "store: listing deployments");
}

static int deploy_current(struct store *st, const char *tenant_id, const char *group_id,
                          struct store_deployment *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT " DEPLOY_COLS " FROM deployments WHERE tenant_id = ?1 "
                                  "AND group_id = ?2 ORDER BY seq DESC LIMIT 1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, group_id);
        struct store_deployment d;
        int r = sq_get(st, s, deploy_row, &d, err, "store: reading current deployment");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "group '%s' has no deployment", group_id);
        if (r == 0)
                *ret = d;
        return r;
}

static int status_set(struct store *st, const struct store_deploy_status *v, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO deployment_status (deployment_id, ueid, image_id, status, reason, "
                "updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                "ON CONFLICT (deployment_id, ueid, image_id) DO UPDATE SET status = ?4, "
                "reason = ?5, updated_ms = ?6";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, v->deployment_id);
        sq_bind_text(s, 2, v->ueid);
        sq_bind_text(s, 3, v->image_id);
        sq_bind_text(s, 4, v->status);
        sq_bind_text(s, 5, v->reason);
        sq_bind_i64(s, 6, v->updated_ms);
        return sq_exec(st, s, err, "store: recording deployment status", NULL);
}

static int64_t status_row(sqlite3_stmt *s, void *item)
{
        struct store_deploy_status *v = item;
        if (sq_col_text(s, 1, v->deployment_id, sizeof(v->deployment_id)) < 0 ||
            sq_col_text(s, 2, v->ueid, sizeof(v->ueid)) < 0 ||
            sq_col_text(s, 3, v->image_id, sizeof(v->image_id)) < 0 ||
            sq_col_text(s, 4, v->status, sizeof(v->status)) < 0 ||
            sq_col_text(s, 5, v->reason, sizeof(v->reason)) < 0)
                return -1;
        v->updated_ms = sqlite3_column_int64(s, 6);
        return sqlite3_column_int64(s, 0);
}

static int status_list(struct store *st, const char *deployment_id, const char *ueid,
                       struct store_deploy_status **ret_items, size_t *ret_n, struct rp_err *err)
{
        static const char sql[] =
                "SELECT rowid, deployment_id, ueid, image_id, status, reason, updated_ms FROM "
                "(SELECT ROW_NUMBER() OVER (ORDER BY image_id) AS rowid, * FROM deployment_status "
                " WHERE deployment_id = ?1 AND ueid = ?2) WHERE rowid > ?3 LIMIT ?4";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        int64_t next = 0;
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, deployment_id);
        sq_bind_text(s, 2, ueid);
        sq_bind_i64(s, 3, 0);
        sq_bind_i64(s, 4, STORE_DEPLOY_MAX_IMAGES + 1);
        return sq_list(st, s, STORE_DEPLOY_MAX_IMAGES, sizeof(struct store_deploy_status),
                       status_row, (void **)ret_items, ret_n, &next, err,
                       "store: listing deployment status");
}

const struct store_deploy_ops sq_deploy_ops = {
        .create = deploy_create,
        .get = deploy_get,
        .list = deploy_list,
        .current = deploy_current,
        .status_set = status_set,
        .status_list = status_list,
};
