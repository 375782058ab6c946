/* sandbox.h - an app compartment: starting an app from its verified image
 * with only what its manifest grants, and serving its egress requests
 * while it runs.
 *
 * Layout of a compartment (docs/sandbox.md has the full picture):
 *   - its own uid/gid (uid.h), PID, mount, IPC, UTS and network namespaces
 *     (the network namespace has only loopback; egress.h is the way out);
 *   - root: a small read-only tmpfs holding /app (the image, read-only,
 *     nosuid, nodev), /proc (its own PID namespace, hidepid), /dev (null,
 *     zero, urandom), /tmp (size-limited tmpfs, noexec), /etc (a read-only
 *     view of a tmpfs holding the runtime's hosts/passwd files) and /data
 *     (the app's storage, storage.h);
 *   - a tiny init (PID 1, the runtime's code) that reaps and reports the
 *     app's exit status; the app runs as PID 2 with no capabilities (bounding
 *     and ambient sets cleared, securebits locked), no_new_privs, Landlock
 *     (landlock.h), the seccomp allowlist (filter.h) and memory/process
 *     limits (limits.h);
 *   - stdin is /dev/null; stdout and stderr go to the app's log file.
 *
 * The runtime runs as root in the host namespaces. Every function here is
 * called from one thread of the runtime. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/manifest.h"
#include "lib/err.h"
#include "sandbox/egress.h"
#include "sandbox/filter.h"
#include "sandbox/limits.h"
#include "sandbox/storage.h"

#define SBX_DEFAULT_MEMORY_MB 64
#define SBX_DEFAULT_PIDS 32
#define SBX_DEFAULT_TMP_KB 4096
#define SBX_MAX_TMP_KB (64 * 1024)
#define SBX_APP_DIR "/app"
#define SBX_DATA_DIR "/data"

struct sbx_config {
        const char *app_root;                 /* the verified image directory */
        const struct img_manifest *manifest;  /* borrowed for the app's lifetime */
        const struct sbx_filter *filter;      /* borrowed, from sbx_filter_build() */
        const char *state_dir;                /* uids, storage/, run/, log/ */
        const char *log_path;                 /* NULL: STATE/log/<Name>.log */
        const char *hosts_file;               /* NULL: system resolver */
        uint64_t memory_bytes;
        unsigned max_pids;
        uint32_t tmp_kb;
        bool allow_cgroup;                    /* false: rlimits only */
        bool system_libs;                     /* also bind /usr, /lib, /lib64 read-only */
        char *const *extra_args;              /* NULL-terminated, after CmdArgs; may be NULL */
};

struct sbx_app {
        pid_t pid;              /* the compartment's init, as the host sees it */
        int pidfd;
        int notify_fd;          /* seccomp listener */
        int status_fd;          /* init writes the app's wait status here */
        uid_t uid;
        int landlock_abi;
        bool exited;
        int status;             /* wait status of the app, once exited */
        uint64_t last_refresh_ms;
        const struct img_manifest *m;
        struct sbx_limits lim;
        struct sbx_egress eg;
        struct sbx_storage storage;
};

/* Starts the app; on success *ret is the running compartment (free it with
 * sbx_app_free). Setup failures inside the compartment come back as
 * messages naming the step. */
int sbx_start(const struct sbx_config *cfg, struct sbx_app **ret, struct rp_err *err) RP_WUR;
/* Serves egress requests for up to timeout_ms. Returns 1 once the app has
 * exited (app->status holds its wait status), 0 otherwise, <0 on error. */
int sbx_serve(struct sbx_app *app, int timeout_ms) RP_WUR;
/* Sends `sig` to the app (through its init). */
int sbx_signal(struct sbx_app *app, int sig) RP_WUR;
/* Kills the compartment if still running, reaps it and releases its cgroup,
 * loop device and run directory. Accepts NULL. */
void sbx_app_free(struct sbx_app *app);
