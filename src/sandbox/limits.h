/* limits.h - memory and process-count limits for an app.
 *
 * Preferred: a cgroup per app, cgroup v2 (memory.max, memory.swap.max,
 * pids.max) when /sys/fs/cgroup is a writable unified hierarchy with those
 * controllers, else the cgroup v1 memory and pids hierarchies when they are
 * mounted and writable. The cgroups are created beneath the runtime's own
 * cgroup, so the device-wide limits on the runtime still bound every app.
 * Fallback when neither is available: rlimits applied in the app before
 * exec (RLIMIT_AS for memory, RLIMIT_NPROC for processes, which counts per
 * uid and every app has its own uid). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

enum sbx_limits_mode { SBX_LIMITS_RLIMIT, SBX_LIMITS_CGROUP_V1, SBX_LIMITS_CGROUP_V2 };

struct sbx_limits {
        enum sbx_limits_mode mode;
        uint64_t memory_bytes;
        unsigned max_pids;
        char mem_dir[512];   /* v2: the one cgroup; v1: memory hierarchy */
        char pids_dir[512];  /* v1 only */
};

/* Creates the app's cgroup(s) named `name` with the limits (unless
 * `allow_cgroup` is false or none is usable: then rlimit mode). */
int sbx_limits_prepare(struct sbx_limits *lim, const char *name, uint64_t memory_bytes,
                       unsigned max_pids, bool allow_cgroup, struct rp_err *err) RP_WUR;
/* Moves `pid` into the cgroup(s); no-op in rlimit mode. */
int sbx_limits_attach(const struct sbx_limits *lim, pid_t pid, struct rp_err *err) RP_WUR;
/* In the app, before exec: rlimits (always RLIMIT_CORE/NOFILE caps; AS and
 * NPROC in rlimit mode). */
int sbx_limits_apply_self(const struct sbx_limits *lim) RP_WUR;
/* Removes the cgroup(s) once the app's processes are gone. */
void sbx_limits_release(struct sbx_limits *lim);
/* Whether the app's cgroup recorded an out-of-memory kill. */
bool sbx_limits_oom_killed(const struct sbx_limits *lim);
const char *sbx_limits_mode_name(enum sbx_limits_mode m);
