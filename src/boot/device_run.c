/* device_run.c - rampart-device commands that bring an emulated device's
 * normal world up (docs/device.md "rampartd"):
 *
 *   configure DIR --server URL --tenant ID [--server-ca PEM]
 *   make-os --out PKG --version V --svn N --key KEY.pem [--rampartd PATH]
 *           [--server-ca PEM] [--tuf-root ROOT.json] [--name NAME] [--component-id UUID]
 *   run DIR [--server URL --tenant ID] [--server-ca PEM] [--max-boots N]
 *           [-- RAMPARTD-OPTIONS]
 *   os-start DIR [-- RAMPARTD-OPTIONS]      (run by rampart-boot, not by people)
 *   status DIR [--json]
 *
 * os-start is the OS loader of the emulated board: a real bootloader copies
 * the kernel it verified into RAM; here the normal world's first program
 * extracts the OS package of the slot rampart-boot booted -- verified again
 * against the fused platform keys, from one read of the file -- and checks
 * that its image digest is the measurement the monitor reports (fwid), so
 * the code that runs is exactly the code that was measured into the DICE
 * chain. A slot swapped after boot is refused. Then it executes the image's
 * bin/rampartd. */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/device_run.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"
#include "monitor/mon_client.h"
#include "runtime/config.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_MEASURE 70         /* the slot is not the measured image */
#define OS_COMPONENT_ID "6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10"
#define OS_NAME "rampart-os"
#define OS_ENTRY "bin/rampartd"
#define OS_CA "etc/rampart/server-ca.pem"
#define OS_TUF_ROOT "etc/rampart/root.json"       /* the update agent's first trusted root */
#define OS_SELF "etc/rampart/os.json"             /* the image's own component id and version */
#define STATUS_MAX (64 * 1024)

static int fail(const struct rp_err *err)
{
        fprintf(stderr, "rampart-device: %s\n", err->msg[0] ? err->msg : "operation failed");
        return EXIT_FAIL;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
        va_list ap;
        fprintf(stderr, "rampart-device: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nRun 'rampart-device --help' for usage.\n");
        return EXIT_USAGE;
}

void boot_run_usage(FILE *f)
{
        fprintf(f,
                "  configure DIR --server URL --tenant ID [--server-ca PEM]\n"
                "      write the normal world's configuration (DIR/data/config.json): the\n"
                "      service rampartd attests to, the tenant, and the CA that the server's\n"
                "      TLS certificate must chain to (copied to DIR/data/server-ca.pem)\n"
                "  make-os --out PKG --version V --svn N --key KEY.pem [--rampartd PATH]\n"
                "          [--server-ca PEM] [--tuf-root ROOT.json] [--name NAME]\n"
                "          [--component-id UUID]\n"
                "      build a signed OS image package holding bin/rampartd (default: the\n"
                "      one built next to this tool), etc/rampart/os.json (component id,\n"
                "      name, version, svn) and optionally etc/rampart/server-ca.pem and the\n"
                "      update root etc/rampart/root.json\n"
                "  run DIR [--server URL --tenant ID] [--server-ca PEM] [--max-boots N]\n"
                "          [-- RAMPARTD-OPTIONS]\n"
                "      boot the device: rampart-boot verifies and measures the OS slot and\n"
                "      runs rampartd from it (configure first, or give --server/--tenant)\n"
                "  status DIR [--json]\n"
                "      show rampartd's attestation state (DIR/data/status.json)\n");
}

static char *self_dir(void)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        char *slash;

        if (n <= 0)
                return NULL;
        exe[n] = 0;
        slash = strrchr(exe, '/');
        if (slash)
                *slash = 0;
        return strdup(exe);
}

static char *data_dir_of(const char *dir)
{
        char *s = NULL;
        return asprintf(&s, "%s/data", dir) < 0 ? NULL : s;
}

/* Checks that `pem` holds certificates and copies it to DATA/server-ca.pem. */
static int install_ca(const char *data, const char *pem, struct rp_err *err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *dst = NULL;
        struct cr_cert **certs = NULL;
        size_t len, n = 0;
        int r;

        r = rp_read_file(pem, CR_MAX_PEM, &buf, &len, err);
        if (r < 0)
                return r;
        r = cr_certs_from_pem(buf, len, 16, &certs, &n, err);
        if (r < 0)
                return rp_err_prefix(err, "server CA '%s'", pem);
        cr_certs_free(certs, n);
        if (n == 0)
                return rp_err_set(err, -EINVAL, "server CA '%s' holds no certificate", pem);
        if (asprintf(&dst, "%s/server-ca.pem", data) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        return rp_write_file_atomic(dst, buf, len, 0600, err);
}

/* configure and run share this: overrides the stored configuration. */
static int apply_config(const char *dir, const char *server, const char *tenant, const char *ca,
                        bool need, struct rp_err *err)
{
        _cleanup_free_ char *data = data_dir_of(dir);
        struct rtd_config c = {0};
        struct stat st;
        int r;

        if (!data)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return rp_err_set(err, -ENOENT, "device '%s' does not exist (provision it "
                                  "first)", dir);
        if (!server && !tenant && !ca) {
                if (!need)
                        return 0;
                return rtd_config_load(data, &c, err);
        }
        r = rtd_config_load(data, &c, err);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == -ENOENT && !(server && tenant))
                return rp_err_set(err, -EINVAL, "device '%s' is not configured: --server and "
                                  "--tenant are both needed", dir);
        if (server) {
                r = rtd_config_check_server(server, err);
                if (r < 0)
                        return r;
                snprintf(c.server, sizeof(c.server), "%s", server);
        }
        if (tenant) {
                r = rtd_config_check_tenant(tenant, err);
                if (r < 0)
                        return r;
                snprintf(c.tenant, sizeof(c.tenant), "%s", tenant);
        }
        r = rp_mkdir_p(data, 0700);
        if (r < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", data, strerror(-r));
        if (ca) {
                r = install_ca(data, ca, err);
                if (r < 0)
                        return r;
                snprintf(c.server_ca, sizeof(c.server_ca), "server-ca.pem");
        }
        return rtd_config_save(data, &c, err);
}

int boot_cmd_configure(int argc, char **argv)
{
        static const struct option opts[] = {
                {"server", required_argument, NULL, 's'}, {"tenant", required_argument, NULL, 't'},
                {"server-ca", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *server = NULL, *tenant = NULL, *ca = NULL;
        struct rp_err err = {0};
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 's': server = optarg; break;
                case 't': tenant = optarg; break;
                case 'c': ca = optarg; break;
                case 'h': boot_run_usage(stdout); return 0;
                default: return usage_error("configure: unknown or incomplete option '%s'",
                                            argv[optind - 1]);
                }
        }
        if (optind + 1 != argc)
                return usage_error("configure: exactly one device directory is needed%s", "");
        if (!server && !tenant && !ca)
                return usage_error("configure: nothing to configure (--server, --tenant, "
                                   "--server-ca)%s", "");
        if (apply_config(argv[optind], server, tenant, ca, true, &err) < 0)
                return fail(&err);
        printf("configured %s\n", argv[optind]);
        return 0;
}

/* ---- make-os ---- */

static int copy_file(const char *from, const char *to, mode_t mode, struct rp_err *err)
{
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int out = -1;
        char buf[65536];
        ssize_t n;

        if (in < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", from, strerror(errno));
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (out < 0)
                return rp_err_set(err, -errno, "cannot create '%s': %s", to, strerror(errno));
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (rp_write_all(out, buf, (size_t)n) < 0)
                        return rp_err_set(err, -EIO, "cannot write '%s'", to);
        if (n < 0)
                return rp_err_set(err, -errno, "cannot read '%s': %s", from, strerror(errno));
        if (fchmod(out, mode) < 0)
                return rp_err_set(err, -errno, "cannot chmod '%s'", to);
        return 0;
}

/* etc/rampart/os.json: what the update agent reports as running. */
static int write_os_json(const char *etc, const struct img_pack_opts *o, struct rp_err *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "component_id", o->component_id, "name",
                              o->name, "version", o->version, "svn", (json_int_t)o->svn);
        _cleanup_close_ int fd = -1;

        if (!j || asprintf(&path, "%s/os.json", etc) < 0 ||
            !(text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
                json_decref(j);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        json_decref(j);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || rp_write_all(fd, text, strlen(text)) < 0 || fchmod(fd, 0644) < 0)
                return rp_err_set(err, -EIO, "cannot write '%s'", path);
        return 0;
}

static int make_os(const char *out, const struct img_pack_opts *o, const char *rampartd,
                   const char *ca, const char *tuf_root, const struct cr_key *key,
                   struct img_meta *ret, struct rp_err *err)
{
        _cleanup_free_ char *bin = NULL, *etc = NULL, *f1 = NULL, *f2 = NULL, *tmp1 = NULL,
                            *tmp2 = NULL, *f3 = NULL;
        char stage[] = "/tmp/rampart-make-os-XXXXXX";
        int fd1 = -1, fd2 = -1, r;

        if (!mkdtemp(stage))
                return rp_err_set(err, -errno, "cannot create a staging directory: %s",
                                  strerror(errno));
        if (asprintf(&bin, "%s/bin", stage) < 0 || asprintf(&etc, "%s/etc/rampart", stage) < 0 ||
            asprintf(&f1, "%s/bin/rampartd", stage) < 0 ||
            asprintf(&f2, "%s/" OS_CA, stage) < 0 || asprintf(&f3, "%s/" OS_TUF_ROOT, stage) < 0 ||
            asprintf(&tmp1, "%s.unsigned-XXXXXX", out) < 0 ||
            asprintf(&tmp2, "%s.tmp-XXXXXX", out) < 0) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (mkdir(bin, 0755) < 0) {
                r = rp_err_set(err, -errno, "cannot create '%s': %s", bin, strerror(errno));
                goto out;
        }
        r = copy_file(rampartd, f1, 0755, err);
        if (r == 0) {
                r = rp_mkdir_p(etc, 0755);
                if (r < 0)
                        rp_err_set(err, r, "cannot create '%s'", etc);
        }
        if (r == 0)
                r = write_os_json(etc, o, err);
        if (r == 0 && ca)
                r = copy_file(ca, f2, 0644, err);
        if (r == 0 && tuf_root)
                r = copy_file(tuf_root, f3, 0644, err);
        if (r < 0)
                goto out;
        fd1 = mkstemp(tmp1);
        fd2 = fd1 < 0 ? -1 : mkstemp(tmp2);
        if (fd1 < 0 || fd2 < 0) {
                r = rp_err_set(err, -errno, "cannot create a file next to '%s': %s", out,
                               strerror(errno));
                goto out;
        }
        r = img_pack_dir(stage, o, fd1, NULL, err);
        if (r == 0 && lseek(fd1, 0, SEEK_SET) < 0)
                r = rp_err_set(err, -errno, "cannot rewind the package");
        if (r == 0)
                r = img_sign(fd1, fd2, key, ret, err);
        if (r == 0 && (fchmod(fd2, 0644) < 0 || fsync(fd2) < 0))
                r = rp_err_set(err, -errno, "cannot write '%s': %s", tmp2, strerror(errno));
        if (r == 0)
                r = rp_rename_durable(tmp2, out, err);
out:
        if (fd1 >= 0)
                close(fd1);
        if (fd2 >= 0)
                close(fd2);
        if (tmp1)
                unlink(tmp1);
        if (tmp2 && r < 0)
                unlink(tmp2);
        if (rp_rm_rf(stage) < 0 && r == 0)
                r = rp_err_set(err, -EIO, "cannot remove the staging directory '%s'", stage);
        return r;
}

int boot_cmd_make_os(int argc, char **argv)
{
        static const struct option opts[] = {
                {"out", required_argument, NULL, 'o'}, {"version", required_argument, NULL, 'v'},
                {"svn", required_argument, NULL, 's'}, {"key", required_argument, NULL, 'k'},
                {"rampartd", required_argument, NULL, 'r'},
                {"server-ca", required_argument, NULL, 'c'},
                {"tuf-root", required_argument, NULL, 'T'},
                {"name", required_argument, NULL, 'n'},
                {"component-id", required_argument, NULL, 'i'},
                {"help", no_argument, NULL, 'h'}, {0},
        };
        _cleanup_(cr_key_freep) struct cr_key *key = NULL;
        _cleanup_free_ char *dflt = NULL, *here = NULL;
        const char *out = NULL, *keyp = NULL, *rampartd = NULL, *ca = NULL, *svn = NULL;
        const char *tuf_root = NULL;
        struct img_pack_opts o = {.component_id = OS_COMPONENT_ID, .name = OS_NAME,
                                  .type = IMG_TYPE_OS};
        struct img_meta m;
        struct rp_err err = {0};
        char dig[2 * CR_SHA256_LEN + 1], *end;
        unsigned long long v;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'o': out = optarg; break;
                case 'v': o.version = optarg; break;
                case 's': svn = optarg; break;
                case 'k': keyp = optarg; break;
                case 'r': rampartd = optarg; break;
                case 'c': ca = optarg; break;
                case 'T': tuf_root = optarg; break;
                case 'n': o.name = optarg; break;
                case 'i': o.component_id = optarg; break;
                case 'h': boot_run_usage(stdout); return 0;
                default: return usage_error("make-os: unknown or incomplete option '%s'",
                                            argv[optind - 1]);
                }
        }
        if (optind != argc || !out || !o.version || !svn || !keyp)
                return usage_error("make-os: --out, --version, --svn and --key are required%s",
                                   "");
        errno = 0;
        v = strtoull(svn, &end, 10);
        if (errno || *end || !*svn || *svn == '-' || v > UINT32_MAX)
                return usage_error("make-os: --svn '%s' is not a number in 0..4294967295", svn);
        o.svn = (uint32_t)v;
        o.created = time(NULL);
        if (!rampartd) {
                here = self_dir();
                if (!here || asprintf(&dflt, "%s/../runtime/rampartd", here) < 0)
                        return EXIT_FAIL;
                if (access(dflt, X_OK) < 0) {
                        free(dflt);
                        if (asprintf(&dflt, "%s/rampartd", here) < 0)
                                return EXIT_FAIL;
                }
                rampartd = dflt;
        }
        if (access(rampartd, X_OK) < 0)
                return usage_error("make-os: rampartd '%s' is not an executable file (--rampartd "
                                   "PATH)", rampartd);
        if (cr_key_load_pem(keyp, &key, &err) < 0)
                return fail(&err);
        if (!cr_key_is_private(key))
                return usage_error("make-os: '%s' holds a public key; signing needs the private "
                                   "key", keyp);
        if (make_os(out, &o, rampartd, ca, tuf_root, key, &m, &err) < 0)
                return fail(&err);
        rp_hex_encode(m.image_digest, sizeof(m.image_digest), dig);
        printf("OS image %s %s (svn %u) with %s -> %s\nimage digest (fwid): %s\n", m.name,
               m.version, m.svn, rampartd, out, dig);
        return 0;
}

/* ---- run and os-start ---- */

static int parse_max_boots(const char *s, unsigned long *ret)
{
        char *end;
        errno = 0;
        *ret = strtoul(s, &end, 10);
        return errno || *end || !*s || *s == '-' || !*ret ? -EINVAL : 0;
}

int boot_cmd_run(int argc, char **argv)
{
        static const struct option opts[] = {
                {"server", required_argument, NULL, 's'}, {"tenant", required_argument, NULL, 't'},
                {"server-ca", required_argument, NULL, 'c'},
                {"max-boots", required_argument, NULL, 'm'},
                {"help", no_argument, NULL, 'h'}, {0},
        };
        _cleanup_free_ char *here = self_dir(), *boot = NULL, *self = NULL;
        const char *server = NULL, *tenant = NULL, *ca = NULL, *max_boots = NULL, *dir;
        struct rp_err err = {0};
        unsigned long mb;
        char **args;
        int c, n = 0, extra;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (c) {
                case 's': server = optarg; break;
                case 't': tenant = optarg; break;
                case 'c': ca = optarg; break;
                case 'm':
                        if (parse_max_boots(optarg, &mb) < 0)
                                return usage_error("run: --max-boots '%s' is not a positive "
                                                   "number", optarg);
                        max_boots = optarg;
                        break;
                case 'h': boot_run_usage(stdout); return 0;
                default: return usage_error("run: unknown or incomplete option '%s'",
                                            argv[optind - 1]);
                }
        }
        if (optind >= argc || !strcmp(argv[optind], "--"))
                return usage_error("run: a device directory is needed%s", "");
        dir = argv[optind++];
        /* options may also follow DIR */
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (c) {
                case 's': server = optarg; break;
                case 't': tenant = optarg; break;
                case 'c': ca = optarg; break;
                case 'm':
                        if (parse_max_boots(optarg, &mb) < 0)
                                return usage_error("run: --max-boots '%s' is not a positive "
                                                   "number", optarg);
                        max_boots = optarg;
                        break;
                case 'h': boot_run_usage(stdout); return 0;
                default: return usage_error("run: unknown or incomplete option '%s'",
                                            argv[optind - 1]);
                }
        }
        if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
                return usage_error("run: unexpected argument '%s'", argv[optind]);
        if (apply_config(dir, server, tenant, ca, true, &err) < 0)
                return fail(&err);
        if (!here || asprintf(&boot, "%s/rampart-boot", here) < 0 ||
            asprintf(&self, "%s/rampart-device", here) < 0)
                return EXIT_FAIL;
        extra = argc - optind;
        args = calloc((size_t)extra + 10, sizeof(*args));
        if (!args)
                return EXIT_FAIL;
        args[n++] = boot;
        if (max_boots) {
                args[n++] = (char *)"--max-boots";
                args[n++] = (char *)max_boots;
        }
        args[n++] = (char *)dir;
        args[n++] = (char *)"--";
        args[n++] = self;
        args[n++] = (char *)"os-start";
        args[n++] = (char *)dir;
        if (extra > 0) {
                args[n++] = (char *)"--";
                for (int i = optind; i < argc; i++)
                        args[n++] = argv[i];
        }
        args[n] = NULL;
        fflush(NULL);
        execv(boot, args);
        fprintf(stderr, "rampart-device: cannot start '%s': %s\n", boot, strerror(errno));
        free(args);
        return EXIT_FAIL;
}

/* Extracts the booted slot into DIR/os and checks it is the measured image. */
static int load_os(const char *dir, const struct mon_boot_info *bi, char **ret_root,
                   struct rp_err *err)
{
        _cleanup_(rot_closep) struct rot *rot = NULL;
        _cleanup_free_ char *root = NULL, *pkg = NULL;
        _cleanup_close_ int fd = -1;
        struct cr_key *keys[ROT_MAX_PLATFORM_KEYS] = {0};
        struct rot_fuses f;
        struct img_meta meta;
        int slot = slot_index(bi->slot), n, r;

        if (slot < 0)
                return rp_err_set(err, -EINVAL, "the monitor reports slot '%s'", bi->slot);
        if (asprintf(&root, "%s/os", dir) < 0 || !(pkg = boot_slot_path(dir, slot)))
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rot_emul_open(dir, &rot, err);
        if (r == 0)
                r = rot_fuses_read(rot, &f, err);
        if (r < 0)
                return r;
        n = boot_platform_keys(&f, keys, err);
        if (n < 0)
                return n;
        r = rp_rm_rf(root);
        if (r < 0 && r != -ENOENT) {
                boot_keys_free(keys);
                return rp_err_set(err, r, "cannot remove the previous OS root '%s': %s", root,
                                  strerror(-r));
        }
        fd = open(pkg, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                boot_keys_free(keys);
                return rp_err_set(err, -errno, "cannot open '%s': %s", pkg, strerror(errno));
        }
        r = img_extract_fd(fd, keys, (size_t)n, root, NULL, &meta, err);
        boot_keys_free(keys);
        if (r < 0)
                return rp_err_prefix(err, "OS slot %s", bi->slot);
        if (!cr_memeq(meta.image_digest, bi->fwid, CR_SHA256_LEN)) {
                char have[2 * CR_SHA256_LEN + 1], want[2 * CR_SHA256_LEN + 1];
                rp_hex_encode(meta.image_digest, CR_SHA256_LEN, have);
                rp_hex_encode(bi->fwid, CR_SHA256_LEN, want);
                if (rp_rm_rf(root) < 0)
                        fprintf(stderr, "rampart-device: cannot remove '%s'\n", root);
                return rp_err_set(err, -EKEYREJECTED, "OS slot %s now holds image %s, but the "
                                  "boot measured %s: refusing to run what was not measured",
                                  bi->slot, have, want);
        }
        *ret_root = steal_ptr(root);
        return 0;
}

int boot_cmd_os_start(int argc, char **argv)
{
        static struct mon_client mon;
        _cleanup_free_ char *root = NULL, *entry = NULL, *data = NULL;
        struct mon_boot_info bi;
        struct rp_err err = {0};
        const char *dir;
        char **args;
        int first, n = 0;

        if (argc < 2 || argv[1][0] == '-')
                return usage_error("os-start: DIR is needed%s", "");
        dir = argv[1];
        if (argc > 2 && strcmp(argv[2], "--") != 0)
                return usage_error("os-start: unexpected argument '%s'", argv[2]);
        first = argc > 2 ? 3 : argc;
        /* the normal world never outlives its monitor */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
                return EXIT_FAIL;
        if (mon_client_from_env(&mon, &err) < 0 || mon_boot_info(&mon, &bi, &err) < 0)
                return fail(&err);
        if (load_os(dir, &bi, &root, &err) < 0) {
                fprintf(stderr, "rampart-device: os-start: %s\n", err.msg);
                return EXIT_MEASURE;
        }
        data = data_dir_of(dir);
        if (!data || asprintf(&entry, "%s/%s", root, OS_ENTRY) < 0)
                return EXIT_FAIL;
        if (rp_mkdir_p(data, 0700) < 0)
                return EXIT_FAIL;
        args = calloc((size_t)(argc - first) + 4, sizeof(*args));
        if (!args)
                return EXIT_FAIL;
        args[n++] = entry;
        args[n++] = (char *)"--data";
        args[n++] = data;
        for (int i = first; i < argc; i++)
                args[n++] = argv[i];
        args[n] = NULL;
        fflush(NULL);
        execv(entry, args);
        fprintf(stderr, "rampart-device: os-start: the OS image has no runnable %s: %s\n",
                OS_ENTRY, strerror(errno));
        free(args);
        return EXIT_FAIL;
}

/* ---- status ---- */

static void print_value(const char *indent, const char *key, json_t *v)
{
        if (json_is_object(v)) {
                const char *k;
                json_t *x;
                char sub[32];
                printf("%s%s:\n", indent, key);
                snprintf(sub, sizeof(sub), "%s  ", indent);
                json_object_foreach(v, k, x)
                        print_value(sub, k, x);
        } else if (json_is_string(v)) {
                printf("%s%s: %s\n", indent, key, json_string_value(v));
        } else if (json_is_integer(v)) {
                printf("%s%s: %lld\n", indent, key, (long long)json_integer_value(v));
        } else if (json_is_boolean(v)) {
                printf("%s%s: %s\n", indent, key, json_is_true(v) ? "yes" : "no");
        } else if (json_is_null(v)) {
                printf("%s%s: -\n", indent, key);
        }
}

int boot_cmd_status(int argc, char **argv)
{
        _cleanup_free_ char *data = NULL, *path = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        struct rp_err err = {0};
        json_t *o, *v;
        const char *k;
        size_t len;
        bool as_json = false;
        const char *dir = NULL;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--json"))
                        as_json = true;
                else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                        boot_run_usage(stdout);
                        return 0;
                } else if (argv[i][0] == '-' || dir)
                        return usage_error("status: unexpected argument '%s'", argv[i]);
                else
                        dir = argv[i];
        }
        if (!dir)
                return usage_error("status: a device directory is needed%s", "");
        data = data_dir_of(dir);
        if (!data || asprintf(&path, "%s/status.json", data) < 0)
                return EXIT_FAIL;
        if (rp_read_file(path, STATUS_MAX, &buf, &len, &err) < 0) {
                if (err.code == -ENOENT)
                        rp_err_set(&err, -ENOENT, "device '%s' has no rampartd status yet (start "
                                   "it with 'rampart-device run %s')", dir, dir);
                return fail(&err);
        }
        if (as_json) {
                fwrite(buf, 1, len, stdout);
                if (len && buf[len - 1] != '\n')
                        putchar('\n');
                return 0;
        }
        o = json_loadb((const char *)buf, len, 0, NULL);
        if (!json_is_object(o)) {
                json_decref(o);
                rp_err_set(&err, -EINVAL, "'%s' is not a JSON object", path);
                return fail(&err);
        }
        json_object_foreach(o, k, v)
                print_value("", k, v);
        json_decref(o);
        return 0;
}
