/* device_tool.c - rampart-device: the factory side of an emulated device.
 *
 *   rampart-device provision DIR (--mfg-ca DIR | --ca-cert PEM --ca-key PEM)
 *                  --records FILE --platform-key PUB.pem [...] [--debug]
 *   rampart-device record DIR --records FILE
 *   rampart-device install-os DIR --slot a|b PKG [--trial N]
 *   rampart-device info DIR
 *
 * provision plays the manufacturing station: it fuses a fresh random UDS and
 * the platform keys, derives the DeviceID key (the UDS never leaves this
 * process and is wiped), has the device CA sign the DeviceID certificate,
 * locks the device and appends one registration record (JSON line) to the
 * records file the service imports. Not part of the TCB. */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/device_run.h"
#include "dice/dice.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fault.h"
#include "lib/fileio.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

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

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart-device <command> ...\n\n"
                "  provision DIR --records FILE --platform-key PUB.pem [--platform-key ...]\n"
                "            (--mfg-ca CADIR | --ca-cert CERT.pem --ca-key KEY.pem) [--debug]\n"
                "      fuse a new UDS and the platform keys into the device DIR, certify its\n"
                "      DeviceID with the device CA (CADIR as made by 'rampart keys mfg-init':\n"
                "      device-ca.pem, device-ca.key), lock it and append its registration\n"
                "      record (one JSON line) to FILE\n"
                "  record DIR --records FILE\n"
                "      append the registration record of a locked device again (a station\n"
                "      that lost power between locking and recording)\n"
                "  install-os DIR --slot a|b PKG [--trial N]\n"
                "      verify an OS image package against the fused platform keys and the\n"
                "      anti-rollback floor and install it into a slot as the preferred one\n"
                "      (confirmed, or a trial with N boot attempts)\n"
                "  info DIR\n"
                "      show the device's public state (never the UDS or any private key)\n");
        boot_run_usage(f);
}

static int write_file_pem(const char *dir, const char *name, const struct cr_cert *c,
                          struct rp_err *err)
{
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        return cr_cert_save_pem(p, c, err);
}

static int load_pem(const char *dir, const char *name, struct cr_cert **ret, struct rp_err *err)
{
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        return cr_cert_load_pem(p, ret, err);
}

static int append_record(const char *path, const char *line, struct rp_err *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        int r;

        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open records file '%s': %s", path,
                                  strerror(errno));
        r = rp_write_all(fd, line, strlen(line));
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0)
                return rp_err_set(err, r, "cannot append to '%s': %s", path, strerror(-r));
        return 0;
}

static int make_record(const struct cr_cert *devcert, const struct cr_cert *ca,
                       const struct cr_key *devkey, const char *ueid, bool debug, char **ret,
                       struct rp_err *err)
{
        _cleanup_free_ char *cert_pem = NULL, *ca_pem = NULL, *b64 = NULL, *line = NULL;
        _cleanup_free_ uint8_t *spki = NULL;
        size_t spki_len;
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        json_t *o;
        int r;

        r = cr_cert_to_pem(devcert, &cert_pem, err);
        if (r == 0)
                r = cr_cert_to_pem(ca, &ca_pem, err);
        if (r < 0)
                return r;
        r = cr_key_pub_to_der(devkey, &spki, &spki_len);
        if (r < 0)
                return rp_err_set(err, r, "cannot encode the DeviceID public key");
        b64 = malloc(rp_b64url_encoded_len(spki_len) + 1);
        if (!b64)
                return rp_err_set(err, -ENOMEM, "out of memory");
        rp_b64url_encode(spki, spki_len, b64);
        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "ueid", ueid, "deviceid_pub", b64,
                      "deviceid_cert", cert_pem, "device_ca", ca_pem, "debug", debug,
                      "provisioned_at", when);
        if (!o)
                return rp_err_set(err, -ENOMEM, "cannot build the registration record");
        line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!line || asprintf(ret, "%s\n", line) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        return 0;
}

static int cmd_provision(int argc, char **argv)
{
        static const struct option opts[] = {
                {"mfg-ca", required_argument, NULL, 'm'}, {"ca-cert", required_argument, NULL, 'c'},
                {"ca-key", required_argument, NULL, 'k'}, {"records", required_argument, NULL, 'r'},
                {"platform-key", required_argument, NULL, 'p'}, {"debug", no_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'}, {0},
        };
        _cleanup_free_ char *ca_cert_path = NULL, *ca_key_path = NULL, *line = NULL;
        _cleanup_(cr_cert_freep) struct cr_cert *ca = NULL, *devcert = NULL;
        _cleanup_(cr_key_freep) struct cr_key *ca_key = NULL, *devkey = NULL;
        _cleanup_(rot_closep) struct rot *rot = NULL;
        _cleanup_(rp_secret32_wipe) struct rp_secret32 uds = {{0}};
        const char *mfg = NULL, *records = NULL, *dir;
        struct rot_fuses f = {0}, cur;
        uint8_t dev_id[DICE_ID_LEN];
        char ueid[DICE_UEID_HEX_LEN + 1];
        struct rp_err err = {0};
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'm': mfg = optarg; break;
                case 'c': free(ca_cert_path); ca_cert_path = strdup(optarg); break;
                case 'k': free(ca_key_path); ca_key_path = strdup(optarg); break;
                case 'r': records = optarg; break;
                case 'd': f.debug = true; break;
                case 'p': {
                        _cleanup_(cr_key_freep) struct cr_key *pk = NULL;
                        if (f.n_platform_keys == ROT_MAX_PLATFORM_KEYS)
                                return usage_error("at most 4 --platform-key options (%s)",
                                                   optarg);
                        if (cr_key_load_pem(optarg, &pk, &err) < 0 ||
                            cr_key_pub_raw(pk, f.platform_keys[f.n_platform_keys]) < 0)
                                return fail(&err);
                        f.n_platform_keys++;
                        break;
                }
                case 'h': usage(stdout); return 0;
                default: return usage_error("provision: unknown or incomplete option '%s'",
                                            argv[optind - 1]);
                }
        }
        if (optind + 1 != argc)
                return usage_error("provision: exactly one device directory is needed%s", "");
        dir = argv[optind];
        if (mfg) {
                if (ca_cert_path || ca_key_path)
                        return usage_error("provision: --mfg-ca and --ca-cert/--ca-key exclude "
                                           "each other%s", "");
                if (asprintf(&ca_cert_path, "%s/device-ca.pem", mfg) < 0 ||
                    asprintf(&ca_key_path, "%s/device-ca.key", mfg) < 0)
                        return EXIT_FAIL;
        }
        if (!ca_cert_path || !ca_key_path)
                return usage_error("provision: the device CA is needed (--mfg-ca, or --ca-cert "
                                   "and --ca-key)%s", "");
        if (!records)
                return usage_error("provision: --records FILE is required%s", "");
        if (!f.n_platform_keys)
                return usage_error("provision: at least one --platform-key is required: the "
                                   "device could not verify any OS%s", "");
        if (cr_cert_load_pem(ca_cert_path, &ca, &err) < 0 ||
            cr_key_load_pem(ca_key_path, &ca_key, &err) < 0)
                return fail(&err);
        if (!cr_cert_is_ca(ca)) {
                rp_err_set(&err, -EINVAL, "'%s' is not a CA certificate", ca_cert_path);
                return fail(&err);
        }
        {
                _cleanup_(cr_key_freep) struct cr_key *ca_pub = NULL;
                if (cr_cert_pubkey(ca, &ca_pub) < 0 || !cr_key_pub_equal(ca_pub, ca_key)) {
                        rp_err_set(&err, -EINVAL, "'%s' is not the key of '%s'", ca_key_path,
                                   ca_cert_path);
                        return fail(&err);
                }
        }
        if (rot_create(dir, &rot, &err) < 0 || rot_fuses_read(rot, &cur, &err) < 0)
                return fail(&err);
        if (cur.lifecycle == ROT_LC_LOCKED) {
                rp_err_set(&err, -EPERM, "device '%s' is already provisioned and locked", dir);
                return fail(&err);
        }
        if (chmod(dir, 0700) < 0) {
                rp_err_set(&err, -errno, "cannot restrict '%s': %s", dir, strerror(errno));
                return fail(&err);
        }
        r = cr_random(uds.b, sizeof(uds.b));
        if (r < 0) {
                rp_err_set(&err, r, "no randomness for the UDS");
                return fail(&err);
        }
        if (rot->ops->program(rot, &uds, &f, &err) < 0 ||
            dice_deviceid_derive(&uds, &devkey, dev_id, &err) < 0)
                return fail(&err);
        rp_secret32_wipe(&uds);
        dice_id_hex(dev_id, ueid);
        RP_FAULT_POINT("provision-certify");
        if (dice_deviceid_cert_issue(ca, ca_key, devkey, dev_id, &devcert, &err) < 0 ||
            write_file_pem(dir, "device_ca.pem", ca, &err) < 0 ||
            write_file_pem(dir, "deviceid.pem", devcert, &err) < 0 ||
            rot->ops->lock(rot, &err) < 0 ||
            make_record(devcert, ca, devkey, ueid, f.debug, &line, &err) < 0)
                return fail(&err);
        RP_FAULT_POINT("provision-record");
        if (append_record(records, line, &err) < 0)
                return fail(&err);
        printf("provisioned %s: ueid %s, %zu platform key(s), debug %s, locked\n", dir, ueid,
               f.n_platform_keys, f.debug ? "enabled" : "disabled");
        return 0;
}

/* Re-emits the registration record of a locked device from its public
 * files (a station that lost power after locking, before the record). */
static int cmd_record(int argc, char **argv)
{
        _cleanup_(rot_closep) struct rot *rot = NULL;
        _cleanup_(cr_cert_freep) struct cr_cert *dev = NULL, *ca = NULL;
        _cleanup_(cr_key_freep) struct cr_key *pub = NULL, *ca_pub = NULL;
        _cleanup_free_ char *line = NULL, *cn = NULL;
        struct rot_fuses f;
        struct rp_err err = {0};

        if (argc != 4 || strcmp(argv[2], "--records") != 0)
                return usage_error("record: DIR --records FILE is required%s", "");
        if (rot_open(argv[1], &rot, &err) < 0 || rot_fuses_read(rot, &f, &err) < 0)
                return fail(&err);
        if (f.lifecycle != ROT_LC_LOCKED) {
                rp_err_set(&err, -EPERM, "device '%s' is %s: provision it instead", argv[1],
                           rot_lifecycle_name(f.lifecycle));
                return fail(&err);
        }
        if (load_pem(argv[1], "deviceid.pem", &dev, &err) < 0 ||
            load_pem(argv[1], "device_ca.pem", &ca, &err) < 0)
                return fail(&err);
        if (cr_cert_pubkey(dev, &pub) < 0 || cr_cert_pubkey(ca, &ca_pub) < 0 ||
            cr_cert_verify_signature(dev, ca_pub, &err) < 0 || cr_cert_subject_cn(dev, &cn) < 0 ||
            strlen(cn) != DICE_UEID_HEX_LEN) {
                if (!err.msg[0])
                        rp_err_set(&err, -EBADMSG, "deviceid.pem of '%s' is not a DeviceID "
                                   "certificate of its device CA", argv[1]);
                return fail(&err);
        }
        if (make_record(dev, ca, pub, cn, f.debug, &line, &err) < 0 ||
            append_record(argv[3], line, &err) < 0)
                return fail(&err);
        printf("recorded %s: ueid %s\n", argv[1], cn);
        return 0;
}

static int cmd_install_os(int argc, char **argv)
{
        static const struct option opts[] = {
                {"slot", required_argument, NULL, 's'}, {"trial", required_argument, NULL, 't'},
                {"help", no_argument, NULL, 'h'}, {0},
        };
        _cleanup_(rot_closep) struct rot *rot = NULL;
        struct img_meta meta;
        struct rp_err err = {0};
        int c, slot = -1;
        unsigned long trial = 0;
        char *end;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        slot = slot_index(optarg);
                        if (slot < 0)
                                return usage_error("install-os: --slot '%s' is not a or b", optarg);
                        break;
                case 't':
                        trial = strtoul(optarg, &end, 10);
                        if (*end || !*optarg || trial == 0 || trial > SLOT_MAX_ATTEMPTS)
                                return usage_error("install-os: --trial '%s' is not 1..15", optarg);
                        break;
                case 'h': usage(stdout); return 0;
                default: return usage_error("install-os: unknown or incomplete option '%s'",
                                            argv[optind - 1]);
                }
        }
        if (slot < 0)
                return usage_error("install-os: --slot a|b is required%s", "");
        if (optind + 2 != argc)
                return usage_error("install-os: DIR and PKG are required%s", "");
        if (rot_open(argv[optind], &rot, &err) < 0 ||
            boot_slot_install(rot, argv[optind], slot, argv[optind + 1], (unsigned)trial, &meta,
                              &err) < 0)
                return fail(&err);
        printf("slot %c: %s %s (svn %u) installed%s\n", slot_letter(slot), meta.name,
               meta.version, meta.svn, trial ? ", trial" : ", confirmed");
        return 0;
}

static void print_slot(const char *dir, int i, const struct slot_info *si)
{
        _cleanup_free_ char *path = boot_slot_path(dir, i);
        _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        struct img_info info;
        struct rp_err err = {0};

        printf("slot %c: priority %u, %s", slot_letter(i), si->priority,
               si->priority == 0 ? "not bootable" : si->trial ? "trial" : "confirmed");
        if (si->trial)
                printf(" (%u attempts left)", si->attempts);
        if (fd < 0)
                printf(", empty\n");
        else if (img_inspect_fd(fd, &info, &err) < 0)
                printf(", unreadable image: %s\n", err.msg);
        else
                printf(", image %s %s svn %u (unverified view)\n", info.meta.name,
                       info.meta.version, info.meta.svn);
}

static int cmd_info(int argc, char **argv)
{
        _cleanup_(rot_closep) struct rot *rot = NULL;
        _cleanup_(cr_cert_freep) struct cr_cert *dev = NULL;
        _cleanup_free_ char *cert_path = NULL, *cn = NULL;
        _cleanup_free_ uint8_t *events = NULL;
        char names[ROT_MAX_COUNTERS][ROT_COUNTER_NAME_MAX + 1];
        uint64_t vals[ROT_MAX_COUNTERS];
        struct rot_fuses f;
        struct slotstate st;
        struct rp_err err = {0};
        size_t n_ev;
        int n;

        if (argc != 2 || argv[1][0] == '-') {
                usage(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
                return argc == 2 && !strcmp(argv[1], "--help") ? 0 : EXIT_USAGE;
        }
        if (rot_open(argv[1], &rot, &err) < 0 || rot_fuses_read(rot, &f, &err) < 0)
                return fail(&err);
        printf("device: %s\nbackend: %s\nlifecycle: %s\ndebug: %s\n", argv[1], rot->ops->name,
               rot_lifecycle_name(f.lifecycle), f.debug ? "enabled" : "disabled");
        if (asprintf(&cert_path, "%s/deviceid.pem", argv[1]) >= 0 &&
            cr_cert_load_pem(cert_path, &dev, &err) == 0 && cr_cert_subject_cn(dev, &cn) == 0)
                printf("ueid: %s\n", cn);
        for (size_t i = 0; i < f.n_platform_keys; i++) {
                _cleanup_(cr_key_freep) struct cr_key *k = NULL;
                uint8_t id[CR_KEY_ID_LEN];
                char hex[2 * CR_KEY_ID_LEN + 1];
                if (cr_key_pub_from_raw(f.platform_keys[i], &k, &err) == 0 && cr_key_id(k, id) == 0) {
                        rp_hex_encode(id, sizeof(id), hex);
                        printf("platform key %zu: %s\n", i, hex);
                }
        }
        if (boot_state_load(rot, &st, &err) < 0) {
                printf("slot state: corrupt (%s)\n", err.msg);
        } else {
                printf("bootcount: %llu\n", (unsigned long long)st.bootcount);
                for (int i = 0; i < SLOT_COUNT; i++)
                        print_slot(argv[1], i, &st.slot[i]);
        }
        n = rot->ops->counter_list(rot, names, vals, ROT_MAX_COUNTERS, &err);
        for (int i = 0; i < n; i++)
                printf("counter %s: %llu\n", names[i], (unsigned long long)vals[i]);
        if (rot_nv_read(rot, "events", &events, &n_ev, &err) == 0)
                printf("events:\n%s", (char *)events);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        /* `rampart-device --help` and `rampart-device CMD --help` */
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
            (argc == 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help")))) {
                usage(stdout);
                return 0;
        }
        if (!strcmp(argv[1], "provision"))
                return cmd_provision(argc - 1, argv + 1);
        if (!strcmp(argv[1], "record"))
                return cmd_record(argc - 1, argv + 1);
        if (!strcmp(argv[1], "install-os"))
                return cmd_install_os(argc - 1, argv + 1);
        if (!strcmp(argv[1], "info"))
                return cmd_info(argc - 1, argv + 1);
        if (!strcmp(argv[1], "configure"))
                return boot_cmd_configure(argc - 1, argv + 1);
        if (!strcmp(argv[1], "make-os"))
                return boot_cmd_make_os(argc - 1, argv + 1);
        if (!strcmp(argv[1], "run"))
                return boot_cmd_run(argc - 1, argv + 1);
        if (!strcmp(argv[1], "os-start"))
                return boot_cmd_os_start(argc - 1, argv + 1);
        if (!strcmp(argv[1], "status"))
                return boot_cmd_status(argc - 1, argv + 1);
        return usage_error("unknown command '%s'", argv[1]);
}
