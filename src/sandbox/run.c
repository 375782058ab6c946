/* run.c - rampart-sandbox-run: runs one app from its image directory in a
 * compartment, according to the image's app_manifest.json, serves its
 * egress requests until it exits, and exits with its status (the exit code,
 * or 128 + the signal that killed it; 125 when the compartment could not
 * be set up). Used by the runtime's tests and benchmarks, and the
 * reference for how rampartd drives src/sandbox. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/manifest.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "sandbox/landlock.h"
#include "sandbox/sandbox.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
        got_signal = sig;
}

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart-sandbox-run --state DIR [options] APP_ROOT [ARG...]\n"
                "  --state DIR       runtime state: uids, storage images, run dirs, logs\n"
                "  --log FILE        the app's stdout/stderr (default STATE/log/<Name>.log)\n"
                "  --hosts FILE      resolve AllowedConnections from this hosts file only\n"
                "  --memory-mb N     memory limit (default %d)\n"
                "  --pids N          process limit (default %d)\n"
                "  --tmp-kb N        size of /tmp (default %d)\n"
                "  --no-cgroup       use rlimits even where cgroups are available\n"
                "  --system-libs     also bind /usr, /lib, /lib64, /bin read-only\n"
                "  --pid-file FILE   write the host pid of the compartment's init\n",
                SBX_DEFAULT_MEMORY_MB, SBX_DEFAULT_PIDS, SBX_DEFAULT_TMP_KB);
}

static int parse_uint(const char *opt, const char *s, unsigned long max, unsigned long *ret)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || !*s || *end || v == 0 || v > max) {
                fprintf(stderr, "rampart-sandbox-run: %s '%s' is not a number in 1..%lu\n", opt, s, max);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "state", required_argument, NULL, 's' },   { "log", required_argument, NULL, 'l' },
                { "hosts", required_argument, NULL, 'H' },   { "memory-mb", required_argument, NULL, 'm' },
                { "pids", required_argument, NULL, 'p' },    { "tmp-kb", required_argument, NULL, 't' },
                { "no-cgroup", no_argument, NULL, 'C' },     { "system-libs", no_argument, NULL, 'S' },
                { "pid-file", required_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct sbx_config cfg = {
                .memory_bytes = (uint64_t)SBX_DEFAULT_MEMORY_MB << 20,
                .max_pids = SBX_DEFAULT_PIDS,
                .tmp_kb = SBX_DEFAULT_TMP_KB,
                .allow_cgroup = true,
        };
        const char *pid_file = NULL;
        unsigned long v;
        int c;

        while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                switch (c) {
                case 's': cfg.state_dir = optarg; break;
                case 'l': cfg.log_path = optarg; break;
                case 'H': cfg.hosts_file = optarg; break;
                case 'm':
                        if (parse_uint("--memory-mb", optarg, 1 << 20, &v) < 0)
                                return 2;
                        cfg.memory_bytes = (uint64_t)v << 20;
                        break;
                case 'p':
                        if (parse_uint("--pids", optarg, 1 << 16, &v) < 0)
                                return 2;
                        cfg.max_pids = (unsigned)v;
                        break;
                case 't':
                        if (parse_uint("--tmp-kb", optarg, SBX_MAX_TMP_KB, &v) < 0)
                                return 2;
                        cfg.tmp_kb = (uint32_t)v;
                        break;
                case 'C': cfg.allow_cgroup = false; break;
                case 'S': cfg.system_libs = true; break;
                case 'P': pid_file = optarg; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (!cfg.state_dir || optind >= argc) {
                usage(stderr);
                return 2;
        }
        cfg.app_root = argv[optind];
        cfg.extra_args = argv + optind + 1;

        char mpath[4096];
        if (snprintf(mpath, sizeof(mpath), "%s/" IMG_MANIFEST_FILE, cfg.app_root) >= (int)sizeof(mpath)) {
                fprintf(stderr, "rampart-sandbox-run: app root path too long\n");
                return 2;
        }
        struct rp_err e = {0};
        _cleanup_free_ uint8_t *json = NULL;
        size_t jlen = 0;
        if (rp_read_file(mpath, IMG_MANIFEST_MAX_SIZE, &json, &jlen, &e) < 0) {
                fprintf(stderr, "rampart-sandbox-run: %s\n", e.msg);
                return 125;
        }
        _cleanup_free_ struct img_manifest *m = calloc(1, sizeof(*m));
        if (!m || img_manifest_parse(json, jlen, m, &e) < 0) {
                fprintf(stderr, "rampart-sandbox-run: '%s': %s\n", mpath, m ? e.msg : "out of memory");
                return 125;
        }
        cfg.manifest = m;

        struct sbx_filter filter = {0};
        if (sbx_filter_build(&filter, &e) < 0) {
                fprintf(stderr, "rampart-sandbox-run: %s\n", e.msg);
                return 125;
        }
        cfg.filter = &filter;

        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        struct sbx_app *app = NULL;
        if (sbx_start(&cfg, &app, &e) < 0) {
                fprintf(stderr, "rampart-sandbox-run: app '%s': %s\n", m->name, e.msg);
                sbx_filter_free(&filter);
                return 125;
        }
        rp_info("sandbox", "app '%s' started: pid %d, uid %u, limits %s, landlock ABI %d", m->name, app->pid,
                (unsigned)app->uid, sbx_limits_mode_name(app->lim.mode), app->landlock_abi);
        if (pid_file) {
                char txt[32];
                int n = snprintf(txt, sizeof(txt), "%d\n", app->pid);
                if (rp_write_file_atomic(pid_file, txt, (size_t)n, 0644, &e) < 0)
                        rp_warn("sandbox", "%s", e.msg);
        }

        int r;
        while ((r = sbx_serve(app, 1000)) == 0) {
                if (got_signal) {
                        int s = got_signal;
                        got_signal = 0;
                        if (sbx_signal(app, s) < 0)
                                break;
                }
        }
        if (r < 0)
                rp_error("sandbox", "app '%s': serving: %s", m->name, strerror(-r));
        int status = app->status, code;
        bool oom = sbx_limits_oom_killed(&app->lim);
        if (WIFEXITED(status)) {
                code = WEXITSTATUS(status);
                rp_info("sandbox", "app '%s' exited with %d", m->name, code);
        } else if (WIFSIGNALED(status)) {
                code = 128 + WTERMSIG(status);
                rp_info("sandbox", "app '%s' killed by signal %d%s", m->name, WTERMSIG(status),
                        oom ? " (out of memory)" : "");
        } else {
                code = 125;
        }
        rp_info("sandbox", "app '%s' egress: %lu granted, %lu denied", m->name, app->eg.n_allowed,
                app->eg.n_denied);
        sbx_app_free(app);
        sbx_filter_free(&filter);
        return code;
}
