/* limits.c - see limits.h. */
#include "sandbox/limits.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "lib/log.h"

#define SBX_NOFILE_MAX 1024

const char *sbx_limits_mode_name(enum sbx_limits_mode m)
{
        switch (m) {
        case SBX_LIMITS_CGROUP_V2: return "cgroup v2";
        case SBX_LIMITS_CGROUP_V1: return "cgroup v1";
        case SBX_LIMITS_RLIMIT: return "rlimit";
        }
        return "?";
}

static int write_str(const char *dir, const char *file, const char *val)
{
        char path[640];
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, val, strlen(val)) < 0)
                return -errno;
        return 0;
}

/* The runtime's own cgroup path in a hierarchy: v1 line "N:ctrl:/path" or
 * v2 line "0::/path". */
static int own_cgroup(const char *ctrl, char *out, size_t cap)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
        char line[1024];
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                line[strcspn(line, "\n")] = '\0';
                char *path = c2 + 1;
                path[strcspn(path, "\n")] = '\0';
                bool match = ctrl ? strstr(c1 + 1, ctrl) != NULL && strlen(c1 + 1) == strlen(ctrl)
                                  : c1[1] == '\0';
                if (match) {
                        snprintf(out, cap, "%s", strcmp(path, "/") == 0 ? "" : path);
                        return 0;
                }
        }
        return -ENOENT;
}

static int make_dir(const char *base, const char *name, char *out, size_t cap)
{
        char parent[512];
        if (snprintf(parent, sizeof(parent), "%s/rampart", base) >= (int)sizeof(parent))
                return -ENAMETOOLONG;
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (snprintf(out, cap, "%s/%s", parent, name) >= (int)cap)
                return -ENAMETOOLONG;
        if (mkdir(out, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int try_v2(struct sbx_limits *lim, const char *name)
{
        struct statfs sf;
        char own[256], base[512], buf[640], val[32];
        int r;

        if (statfs("/sys/fs/cgroup", &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
                return -ENOTSUP;
        if (own_cgroup(NULL, own, sizeof(own)) < 0)
                return -ENOTSUP;
        snprintf(base, sizeof(base), "/sys/fs/cgroup%s", own);
        snprintf(buf, sizeof(buf), "%s/cgroup.controllers", base);
        _cleanup_close_ int fd = open(buf, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -ENOTSUP;
        buf[n] = '\0';
        if (!strstr(buf, "memory") || !strstr(buf, "pids"))
                return -ENOTSUP;
        /* the rampart subtree must have the controllers enabled for its children */
        char parent[520];
        snprintf(parent, sizeof(parent), "%s/rampart", base);
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
                return -errno;
        if ((r = write_str(parent, "cgroup.subtree_control", "+memory +pids")) < 0)
                return r;
        if ((r = make_dir(base, name, lim->mem_dir, sizeof(lim->mem_dir))) < 0)
                return r;
        snprintf(val, sizeof(val), "%" PRIu64, lim->memory_bytes);
        if ((r = write_str(lim->mem_dir, "memory.max", val)) < 0)
                goto fail;
        (void)write_str(lim->mem_dir, "memory.swap.max", "0");
        snprintf(val, sizeof(val), "%u", lim->max_pids);
        if ((r = write_str(lim->mem_dir, "pids.max", val)) < 0)
                goto fail;
        lim->mode = SBX_LIMITS_CGROUP_V2;
        return 0;
fail:
        rmdir(lim->mem_dir);
        lim->mem_dir[0] = '\0';
        return r;
}

static int try_v1(struct sbx_limits *lim, const char *name)
{
        char own[256], base[512], val[32];
        int r;

        if (own_cgroup("memory", own, sizeof(own)) < 0)
                return -ENOTSUP;
        snprintf(base, sizeof(base), "/sys/fs/cgroup/memory%s", own);
        if (access(base, W_OK) < 0)
                return -ENOTSUP;
        if ((r = make_dir(base, name, lim->mem_dir, sizeof(lim->mem_dir))) < 0)
                return r;
        if (own_cgroup("pids", own, sizeof(own)) < 0) {
                r = -ENOTSUP;
                goto fail;
        }
        snprintf(base, sizeof(base), "/sys/fs/cgroup/pids%s", own);
        if ((r = make_dir(base, name, lim->pids_dir, sizeof(lim->pids_dir))) < 0)
                goto fail;
        snprintf(val, sizeof(val), "%" PRIu64, lim->memory_bytes);
        if ((r = write_str(lim->mem_dir, "memory.limit_in_bytes", val)) < 0)
                goto fail;
        (void)write_str(lim->mem_dir, "memory.memsw.limit_in_bytes", val);
        snprintf(val, sizeof(val), "%u", lim->max_pids);
        if ((r = write_str(lim->pids_dir, "pids.max", val)) < 0)
                goto fail;
        lim->mode = SBX_LIMITS_CGROUP_V1;
        return 0;
fail:
        if (lim->mem_dir[0])
                rmdir(lim->mem_dir);
        if (lim->pids_dir[0])
                rmdir(lim->pids_dir);
        lim->mem_dir[0] = lim->pids_dir[0] = '\0';
        return r;
}

int sbx_limits_prepare(struct sbx_limits *lim, const char *name, uint64_t memory_bytes,
                       unsigned max_pids, bool allow_cgroup, struct rp_err *err)
{
        memset(lim, 0, sizeof(*lim));
        lim->memory_bytes = memory_bytes;
        lim->max_pids = max_pids;
        lim->mode = SBX_LIMITS_RLIMIT;
        if (memory_bytes < 4u << 20 || max_pids < 1)
                return rp_err_set(err, -EINVAL, "limits: memory %" PRIu64 " bytes / %u processes is too small",
                                  memory_bytes, max_pids);
        if (!allow_cgroup)
                return 0;
        int r2 = try_v2(lim, name);
        if (r2 == 0)
                return 0;
        int r1 = try_v1(lim, name);
        if (r1 == 0)
                return 0;
        rp_info("limits", "no usable cgroup (v2: %s, v1: %s); using rlimits", strerror(-r2), strerror(-r1));
        return 0;
}

int sbx_limits_attach(const struct sbx_limits *lim, pid_t pid, struct rp_err *err)
{
        char val[32];
        int r;
        snprintf(val, sizeof(val), "%d", pid);
        if (lim->mode == SBX_LIMITS_RLIMIT)
                return 0;
        if ((r = write_str(lim->mem_dir, "cgroup.procs", val)) < 0)
                return rp_err_set(err, r, "limits: cannot move %d into '%s': %s", pid, lim->mem_dir, strerror(-r));
        if (lim->mode == SBX_LIMITS_CGROUP_V1 && (r = write_str(lim->pids_dir, "cgroup.procs", val)) < 0)
                return rp_err_set(err, r, "limits: cannot move %d into '%s': %s", pid, lim->pids_dir,
                                  strerror(-r));
        return 0;
}

int sbx_limits_apply_self(const struct sbx_limits *lim)
{
        struct rlimit nofile = { SBX_NOFILE_MAX, SBX_NOFILE_MAX };
        if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
                return -errno;
        if (lim->mode != SBX_LIMITS_RLIMIT)
                return 0;
        struct rlimit as = { lim->memory_bytes, lim->memory_bytes };
        struct rlimit np = { lim->max_pids, lim->max_pids };
        if (setrlimit(RLIMIT_AS, &as) < 0 || setrlimit(RLIMIT_NPROC, &np) < 0)
                return -errno;
        return 0;
}

static void rmdir_retry(const char *dir)
{
        /* the kernel frees a cgroup only after its last task is reaped */
        for (int i = 0; i < 200 && rmdir(dir) < 0 && errno == EBUSY; i++)
                usleep(5000);
}

void sbx_limits_release(struct sbx_limits *lim)
{
        if (!lim || lim->mode == SBX_LIMITS_RLIMIT)
                return;
        if (lim->mem_dir[0])
                rmdir_retry(lim->mem_dir);
        if (lim->pids_dir[0])
                rmdir_retry(lim->pids_dir);
        lim->mem_dir[0] = lim->pids_dir[0] = '\0';
}

bool sbx_limits_oom_killed(const struct sbx_limits *lim)
{
        char path[640], buf[1024];
        if (lim->mode == SBX_LIMITS_RLIMIT)
                return false;
        snprintf(path, sizeof(path), "%s/%s", lim->mem_dir,
                 lim->mode == SBX_LIMITS_CGROUP_V2 ? "memory.events" : "memory.oom_control");
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        char *p = strstr(buf, "oom_kill ");
        return p && strtoul(p + 9, NULL, 10) > 0;
}
