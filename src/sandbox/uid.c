/* uid.c - see uid.h. */
#include "sandbox/uid.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "lib/cleanup.h"
#include "lib/fileio.h"

/* Rewrites the table with `id` mapped to `uid` (uid 0: removed). */
static int table_update(const char *state_dir, const char *id, uid_t *io_uid, bool remove,
                        struct rp_err *err)
{
        char path[4096], lock[4200];
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        if (snprintf(path, sizeof(path), "%s/uids", state_dir) >= (int)sizeof(path))
                return rp_err_set(err, -ENAMETOOLONG, "uid: state path too long");
        snprintf(lock, sizeof(lock), "%s.lock", path);
        if ((r = rp_mkdir_p(state_dir, 0700)) < 0)
                return rp_err_set(err, r, "uid: cannot create '%s': %s", state_dir, strerror(-r));
        _cleanup_close_ int lfd = open(lock, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        if (lfd < 0 || flock(lfd, LOCK_EX) < 0)
                return rp_err_set(err, -errno, "uid: cannot lock '%s': %s", lock, strerror(errno));
        r = rp_read_file(path, SBX_UID_TABLE_MAX, &data, &len, NULL);
        if (r == -ENOENT) {
                data = (uint8_t *)strdup("");
                len = 0;
        } else if (r < 0) {
                return rp_err_set(err, r, "uid: cannot read '%s': %s", path, strerror(-r));
        }
        _cleanup_free_ char *text = (char *)data;
        _cleanup_free_ unsigned char *used = calloc(SBX_UID_COUNT, 1);
        _cleanup_free_ char *out = malloc(len + 128);
        size_t olen = 0;
        uid_t found = 0;
        if (!text || !used || !out)
                return rp_err_set(err, -ENOMEM, "uid: out of memory");
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char cid[64];
                unsigned u;
                if (sscanf(line, "%63s %u", cid, &u) != 2 || u < SBX_UID_BASE || u >= SBX_UID_BASE + SBX_UID_COUNT)
                        return rp_err_set(err, -EBADMSG, "uid: bad line in '%s': '%.60s'", path, line);
                if (strcmp(cid, id) == 0) {
                        found = u;
                        if (remove)
                                continue;
                }
                used[u - SBX_UID_BASE] = 1;
                olen += (size_t)sprintf(out + olen, "%s %u\n", cid, u);
        }
        if (remove) {
                if (!found)
                        return 0;
        } else if (found) {
                *io_uid = found;
                return 0;
        } else {
                unsigned i = 0;
                while (i < SBX_UID_COUNT && used[i])
                        i++;
                if (i == SBX_UID_COUNT)
                        return rp_err_set(err, -ENOSPC, "uid: all %u app uids are in use", SBX_UID_COUNT);
                found = SBX_UID_BASE + i;
                olen += (size_t)sprintf(out + olen, "%s %u\n", id, (unsigned)found);
        }
        if ((r = rp_write_file_atomic(path, out, olen, 0600, err)) < 0)
                return r;
        *io_uid = found;
        return 0;
}

int sbx_uid_alloc(const char *state_dir, const char *component_id, uid_t *ret_uid, struct rp_err *err)
{
        uid_t u = 0;
        int r = table_update(state_dir, component_id, &u, false, err);
        if (r == 0)
                *ret_uid = u;
        return r;
}

int sbx_uid_release(const char *state_dir, const char *component_id, struct rp_err *err)
{
        uid_t u = 0;
        return table_update(state_dir, component_id, &u, true, err);
}
