/* keys.c - `rampart keys`: signing keys and the manufacturer CA pair.
 *
 *   rampart keys generate --out KEY.pem [--pub PUB.pem]
 *   rampart keys id KEY.pem
 *   rampart keys mfg-init --out DIR [--org NAME]
 *
 * Private keys are written 0600 through an atomic rename and never
 * overwrite an existing file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"

#define YEAR_SECONDS (365LL * 24 * 3600 + 6 * 3600)

static void usage_generate(FILE *f)
{
        fprintf(f, "usage: rampart keys generate --out KEY.pem [--pub PUB.pem]\n\n"
                   "Creates a new ECDSA P-256 signing key. The private key is written to\n"
                   "KEY.pem (PKCS#8, mode 0600); --pub also writes the public key\n"
                   "(SubjectPublicKeyInfo PEM), which is what `image verify --trust` takes.\n"
                   "Prints the key id (SHA-256 of the public key's SubjectPublicKeyInfo),\n"
                   "the id signature records name. Existing files are never overwritten.\n");
}

static void usage_id(FILE *f)
{
        fprintf(f, "usage: rampart keys id KEY.pem\n\n"
                   "Prints the key id of a private or public key PEM file.\n");
}

static void usage_mfg_init(FILE *f)
{
        fprintf(f, "usage: rampart keys mfg-init --out DIR [--org NAME]\n\n"
                   "Creates a manufacturer's certificate authorities in the new directory DIR:\n"
                   "  root-ca.pem, root-ca.key      root CA, valid 10 years (keep offline)\n"
                   "  device-ca.pem, device-ca.key  device CA signed by the root, valid 5 years,\n"
                   "                                path length 1: it signs DeviceID certificates,\n"
                   "                                which are in turn the CA of each Alias certificate\n"
                   "Keys are ECDSA P-256, written with mode 0600. --org sets the subject O\n"
                   "(default \"Rampart Devices\").\n");
}

static void usage(FILE *f)
{
        fprintf(f, "usage: rampart keys <command> [options]\n\n"
                   "commands:\n"
                   "  generate   create a P-256 signing key (and its public key file)\n"
                   "  id         print the key id of a key file\n"
                   "  mfg-init   create a manufacturer root CA and device CA\n\n"
                   "Run 'rampart keys <command> --help' for a command's options.\n");
}

static int exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

static void print_key_id(const struct cr_key *k)
{
        uint8_t id[CR_KEY_ID_LEN];
        char hex[2 * CR_KEY_ID_LEN + 1];
        if (cr_key_id(k, id) < 0) {
                fprintf(stderr, "rampart: cannot compute the key id\n");
                return;
        }
        rp_hex_encode(id, sizeof(id), hex);
        printf("key id: %s\n", hex);
}

static int cmd_generate(int argc, char **argv)
{
        static const struct option opts[] = {
                {"out", required_argument, NULL, 'o'},
                {"pub", required_argument, NULL, 'p'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        _cleanup_(cr_key_freep) struct cr_key *k = NULL;
        const char *out = NULL, *pub = NULL;
        struct rp_err err = {0};
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "o:p:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        out = optarg;
                        break;
                case 'p':
                        pub = optarg;
                        break;
                case 'h':
                        usage_generate(stdout);
                        return CLI_EXIT_OK;
                default:
                        usage_generate(stderr);
                        return cli_errorf(CLI_EXIT_USAGE, "keys generate: unknown or incomplete option '%s'",
                                          argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_errorf(CLI_EXIT_USAGE, "keys generate: unexpected argument '%s'", argv[optind]);
        if (!out) {
                usage_generate(stderr);
                return cli_errorf(CLI_EXIT_USAGE, "keys generate: --out KEY.pem is required");
        }
        if (exists(out))
                return cli_errorf(CLI_EXIT_FAIL, "'%s' already exists; refusing to overwrite a key", out);
        if (pub && exists(pub))
                return cli_errorf(CLI_EXIT_FAIL, "'%s' already exists; refusing to overwrite it", pub);
        if (pub && !strcmp(pub, out))
                return cli_errorf(CLI_EXIT_USAGE, "--out and --pub name the same file '%s'", out);
        if (cr_key_generate(&k, &err) < 0 || cr_key_save_pem(out, k, true, &err) < 0)
                return cli_fail(&err);
        if (pub && cr_key_save_pem(pub, k, false, &err) < 0) {
                unlink(out);
                return cli_fail(&err);
        }
        printf("private key: %s\n", out);
        if (pub)
                printf("public key: %s\n", pub);
        print_key_id(k);
        return CLI_EXIT_OK;
}

static int cmd_id(int argc, char **argv)
{
        _cleanup_(cr_key_freep) struct cr_key *k = NULL;
        struct rp_err err = {0};

        if (cli_wants_help(argc, argv)) {
                usage_id(stdout);
                return CLI_EXIT_OK;
        }
        if (argc != 2 || argv[1][0] == '-') {
                usage_id(stderr);
                return cli_errorf(CLI_EXIT_USAGE, "keys id: expected exactly one key file");
        }
        if (cr_key_load_pem(argv[1], &k, &err) < 0)
                return cli_fail(&err);
        print_key_id(k);
        return CLI_EXIT_OK;
}

/* Writes one CA's key and certificate into dir. */
static int save_ca(const char *dir, const char *stem, const struct cr_key *k,
                   const struct cr_cert *c, struct rp_err *err)
{
        char p[4096];
        int r;

        snprintf(p, sizeof(p), "%s/%s.key", dir, stem);
        r = cr_key_save_pem(p, k, true, err);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s/%s.pem", dir, stem);
        return cr_cert_save_pem(p, c, err);
}

static int cmd_mfg_init(int argc, char **argv)
{
        static const struct option opts[] = {
                {"out", required_argument, NULL, 'o'},
                {"org", required_argument, NULL, 'g'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        _cleanup_(cr_key_freep) struct cr_key *root_key = NULL, *dev_key = NULL;
        _cleanup_(cr_cert_freep) struct cr_cert *root = NULL, *dev = NULL;
        const char *out = NULL, *org = "Rampart Devices";
        struct rp_err err = {0};
        time_t now = time(NULL);
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "o:g:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        out = optarg;
                        break;
                case 'g':
                        org = optarg;
                        break;
                case 'h':
                        usage_mfg_init(stdout);
                        return CLI_EXIT_OK;
                default:
                        usage_mfg_init(stderr);
                        return cli_errorf(CLI_EXIT_USAGE, "keys mfg-init: unknown or incomplete option '%s'",
                                          argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_errorf(CLI_EXIT_USAGE, "keys mfg-init: unexpected argument '%s'", argv[optind]);
        if (!out) {
                usage_mfg_init(stderr);
                return cli_errorf(CLI_EXIT_USAGE, "keys mfg-init: --out DIR is required");
        }
        if (!*org || strlen(org) > 64)
                return cli_errorf(CLI_EXIT_USAGE, "keys mfg-init: --org must be 1..64 characters");
        if (mkdir(out, 0700) < 0)
                return cli_errorf(CLI_EXIT_FAIL, "cannot create '%s': %s%s", out, strerror(errno),
                                  errno == EEXIST ? " (refusing to overwrite existing CAs)" : "");

        struct cr_cert_spec root_spec = {
                .cn = "Rampart Manufacturer Root CA",
                .o = org,
                .not_after = now + 10 * YEAR_SECONDS,
                .ca = true,
                .path_len = 2,
                .key_usage = CR_KU_KEY_CERT_SIGN | CR_KU_CRL_SIGN,
        };
        struct cr_cert_spec dev_spec = {
                .cn = "Rampart Manufacturer Device CA",
                .o = org,
                .not_after = now + 5 * YEAR_SECONDS,
                .ca = true,
                .path_len = 1,
                .key_usage = CR_KU_KEY_CERT_SIGN | CR_KU_CRL_SIGN,
        };
        if ((r = cr_key_generate(&root_key, &err)) < 0 ||
            (r = cr_cert_self_signed(root_key, &root_spec, &root, &err)) < 0 ||
            (r = cr_key_generate(&dev_key, &err)) < 0 ||
            (r = cr_cert_issue(root, root_key, dev_key, &dev_spec, &dev, &err)) < 0 ||
            (r = save_ca(out, "root-ca", root_key, root, &err)) < 0 ||
            (r = save_ca(out, "device-ca", dev_key, dev, &err)) < 0) {
                (void)!rp_rm_rf(out);
                return cli_fail(&err);
        }
        printf("root CA:   %s/root-ca.pem (key %s/root-ca.key), valid 10 years\n", out, out);
        printf("device CA: %s/device-ca.pem (key %s/device-ca.key), valid 5 years, path length 1\n",
               out, out);
        return CLI_EXIT_OK;
}

int cli_keys(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        if (!strcmp(argv[1], "generate"))
                return cmd_generate(argc - 1, argv + 1);
        if (!strcmp(argv[1], "id"))
                return cmd_id(argc - 1, argv + 1);
        if (!strcmp(argv[1], "mfg-init"))
                return cmd_mfg_init(argc - 1, argv + 1);
        usage(stderr);
        return cli_errorf(CLI_EXIT_USAGE, "keys: unknown command '%s'", argv[1]);
}
