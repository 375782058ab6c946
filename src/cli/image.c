/* image.c - `rampart image`: pack, sign, verify, inspect and extract image
 * packages (docs/image-format.md).
 *
 * Every command that writes a file writes a temporary file next to it,
 * syncs it and renames it into place, so an interrupted command leaves the
 * old file or the new one, never a mix. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "crypto/crypto.h"
#include "image/image.h"
#include "image/manifest.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"

#define MAX_TRUST 16

/* ---- help ---- */

static void usage(FILE *f)
{
        fprintf(f, "usage: rampart image <command> [options]\n\n"
                   "commands:\n"
                   "  pack      pack a directory into an unsigned image package\n"
                   "  sign      add a signature to an image package (in place)\n"
                   "  verify    verify an image package against trusted public keys\n"
                   "  info      show an image package's metadata (unverified unless --trust)\n"
                   "  extract   verify, then safely extract the payload into a new directory\n"
                   "  upload    send a signed package and its targets metadata to rampart-server\n\n"
                   "Run 'rampart image <command> --help' for a command's options.\n");
}

static void usage_pack(FILE *f)
{
        fprintf(f,
                "usage: rampart image pack DIR --out PKG --name NAME --type os|app --version VERSION\n"
                "                          --svn N --component-id UUID [--hw-compat ID ...]\n\n"
                "Packs the files under DIR (regular files, directories, symlinks that stay\n"
                "inside DIR) into an unsigned image package PKG. Device nodes, fifos,\n"
                "sockets, setuid/setgid files and escaping symlinks are refused. An app\n"
                "image needs a valid app_manifest.json at the top of DIR whose ComponentId\n"
                "is --component-id and whose EntryPoint is an executable file in DIR.\n\n"
                "  --out PKG            package to write (replaced atomically)\n"
                "  --name NAME          image name: letters, digits, '.', '_', '-' (max %d)\n"
                "  --type os|app        what the image is\n"
                "  --version VERSION    version text: letters, digits, '.+~_-' (max %d)\n"
                "  --svn N              security version number (0..4294967295); devices\n"
                "                       refuse images below their anti-rollback floor\n"
                "  --component-id UUID  identity of the component across versions\n"
                "  --hw-compat ID       hardware this image runs on (repeatable, max %d)\n\n"
                "The creation time is SOURCE_DATE_EPOCH when set (reproducible builds),\n"
                "otherwise now.\n",
                IMG_MAX_NAME, IMG_MAX_VERSION, IMG_MAX_HW_COMPAT);
}

static void usage_sign(FILE *f)
{
        fprintf(f, "usage: rampart image sign PKG --key KEY.pem [--out SIGNED]\n\n"
                   "Appends an ECDSA P-256 signature by KEY.pem over the package's header and\n"
                   "metadata (which bind the payload's SHA-256). The payload is checked\n"
                   "against its digest first: a corrupt package is not signed. Without --out,\n"
                   "PKG is replaced atomically. A package holds up to %d signatures, at\n"
                   "most one per key.\n",
                IMG_MAX_SIGNATURES);
}

static void usage_verify(FILE *f)
{
        fprintf(f, "usage: rampart image verify PKG --trust PUB.pem [--trust PUB.pem ...]\n"
                   "                            [--output text|json]\n\n"
                   "Verifies PKG in one streaming pass: at least one signature must be by a\n"
                   "trusted key, every signature by a trusted key must verify, and the payload\n"
                   "must match its signed digest. Exits 0 only then; otherwise prints why and\n"
                   "exits 1. --trust takes public (or private) key PEM files.\n");
}

static void usage_info(FILE *f)
{
        fprintf(f, "usage: rampart image info PKG [--trust PUB.pem ...] [--output text|json]\n\n"
                   "Shows the package's metadata and signature key ids. Without --trust\n"
                   "NOTHING shown is verified (the payload is not even read): anyone can\n"
                   "write any metadata. With --trust the package is verified first and the\n"
                   "command fails if it does not verify.\n");
}

static void usage_extract(FILE *f)
{
        fprintf(f, "usage: rampart image extract PKG --trust PUB.pem [--trust ...] --to DIR\n\n"
                   "Verifies PKG, then extracts its payload into the new directory DIR (which\n"
                   "must not exist): through a temporary directory next to DIR, re-checking\n"
                   "the payload digest while extracting, and one atomic rename at the end.\n"
                   "Absolute paths, '..', escaping symlinks, device nodes, fifos, hard\n"
                   "links, setuid/setgid bits and archives over the limits (%d entries, %d\n"
                   "levels) are refused, and nothing is left behind.\n",
                IMG_MAX_FILES, IMG_MAX_DEPTH);
}

/* ---- shared helpers ---- */

struct trust {
        struct cr_key *keys[MAX_TRUST];
        size_t n;
};

static void trust_free(struct trust *t)
{
        for (size_t i = 0; i < t->n; i++)
                cr_key_free(t->keys[i]);
        t->n = 0;
}

static int trust_add(struct trust *t, const char *path)
{
        struct rp_err err = {0};
        if (t->n == MAX_TRUST)
                return cli_errorf(CLI_EXIT_USAGE, "at most %d --trust keys", MAX_TRUST);
        if (cr_key_load_pem(path, &t->keys[t->n], &err) < 0)
                return cli_fail(&err);
        t->n++;
        return CLI_EXIT_OK;
}

static int parse_output(const char *s, bool *ret_json)
{
        if (!strcmp(s, "json")) {
                *ret_json = true;
                return CLI_EXIT_OK;
        }
        if (!strcmp(s, "text")) {
                *ret_json = false;
                return CLI_EXIT_OK;
        }
        return cli_errorf(CLI_EXIT_USAGE, "--output must be 'text' or 'json', not '%s'", s);
}

static int bad_option(const char *cmd, char **argv, void (*u)(FILE *))
{
        u(stderr);
        return cli_errorf(CLI_EXIT_USAGE, "image %s: unknown option or missing value in '%s'", cmd,
                          argv[optind - 1]);
}

static int open_pkg(const char *path, int *ret_fd)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return cli_errorf(CLI_EXIT_FAIL, "cannot open '%s': %s", path, strerror(errno));
        *ret_fd = fd;
        return CLI_EXIT_OK;
}

/* A temporary file next to `path`, for an atomic replace. */
static int open_tmp_next_to(const char *path, char **ret_tmp, int *ret_fd)
{
        size_t n = strlen(path) + 16;
        char *tmp = malloc(n);
        int fd;

        if (!tmp)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        snprintf(tmp, n, "%s.tmpXXXXXX", path);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                free(tmp);
                return cli_errorf(CLI_EXIT_FAIL, "cannot create a temporary file next to '%s': %s", path,
                                  strerror(e));
        }
        *ret_tmp = tmp;
        *ret_fd = fd;
        return CLI_EXIT_OK;
}

/* fsync + chmod 0644 + rename; removes tmp on failure. */
static int commit_tmp(int fd, char *tmp, const char *path)
{
        struct rp_err err = {0};
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
                int e = errno;
                unlink(tmp);
                return cli_errorf(CLI_EXIT_FAIL, "cannot write '%s': %s", path, strerror(e));
        }
        if (rp_rename_durable(tmp, path, &err) < 0) {
                unlink(tmp);
                return cli_fail(&err);
        }
        return CLI_EXIT_OK;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
        rp_hex_encode(p, n, out);
}

static void format_time(int64_t t, char out[32])
{
        struct tm tm;
        time_t tt = (time_t)t;
        if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
                snprintf(out, 32, "%lld", (long long)t);
}

static json_t *meta_json(const struct img_meta *m)
{
        char sha[65], dig[65], created[32];
        json_t *hw = json_array();

        for (size_t i = 0; i < m->n_hw_compat; i++)
                json_array_append_new(hw, json_string(m->hw_compat[i]));
        hex(m->payload_sha256, 32, sha);
        hex(m->image_digest, 32, dig);
        format_time(m->created, created);
        return json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:s, s:{s:I, s:s}, s:s}", "component_id",
                         m->component_id, "name", m->name, "type", img_type_name(m->type), "version",
                         m->version, "svn", (json_int_t)m->svn, "hw_compat", hw, "created", created,
                         "payload", "length", (json_int_t)m->payload_len, "sha256", sha,
                         "image_digest", dig);
}

static void print_meta_text(const char *path, const struct img_meta *m)
{
        char sha[65], dig[65], created[32];

        hex(m->payload_sha256, 32, sha);
        hex(m->image_digest, 32, dig);
        format_time(m->created, created);
        printf("package:       %s\n", path);
        printf("name:          %s\n", m->name);
        printf("type:          %s\n", img_type_name(m->type));
        printf("version:       %s\n", m->version);
        printf("svn:           %u\n", m->svn);
        printf("component id:  %s\n", m->component_id);
        printf("hw compat:     ");
        if (!m->n_hw_compat)
                printf("(any)");
        for (size_t i = 0; i < m->n_hw_compat; i++)
                printf("%s%s", i ? ", " : "", m->hw_compat[i]);
        printf("\ncreated:       %s\n", created);
        printf("payload:       %llu bytes, sha256 %s\n", (unsigned long long)m->payload_len, sha);
        printf("image digest:  %s\n", dig);
}

static void print_json(json_t *j)
{
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s)
                puts(s);
        free(s);
        json_decref(j);
}

/* ---- pack ---- */

/* An app image must carry a valid app_manifest.json that names the same
 * component and an entry point that is an executable file in the tree:
 * refused here, at the developer's desk, rather than on a device. */
static int check_app_manifest(const char *dir, const char *component_id)
{
        struct img_manifest *man = NULL;
        struct rp_err err = {0};
        uint8_t *data = NULL, uuid[16];
        char path[4096], canon[IMG_UUID_STR_LEN + 1];
        size_t len;
        struct stat st;
        int r = CLI_EXIT_OK;

        snprintf(path, sizeof(path), "%s/%s", dir, IMG_MANIFEST_FILE);
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return cli_errorf(CLI_EXIT_FAIL, "an app image needs a regular file %s at the top of '%s'",
                                  IMG_MANIFEST_FILE, dir);
        man = calloc(1, sizeof(*man));
        if (!man)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        if (rp_read_file(path, IMG_MANIFEST_MAX_SIZE, &data, &len, &err) < 0 ||
            img_manifest_parse(data, len, man, &err) < 0) {
                rp_err_prefix(&err, "'%s'", path);
                r = cli_fail(&err);
                goto out;
        }
        if (img_uuid_parse(component_id, uuid) == 0) {
                img_uuid_format(uuid, canon);
                if (strcmp(canon, man->component_id) != 0) {
                        r = cli_errorf(CLI_EXIT_FAIL,
                                       "'%s': ComponentId %s differs from --component-id %s", path,
                                       man->component_id, canon);
                        goto out;
                }
        }
        snprintf(path, sizeof(path), "%s%s", dir, man->entry_point);
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                r = cli_errorf(CLI_EXIT_FAIL,
                               "app_manifest.json: EntryPoint '%s' is not an executable regular file in '%s'",
                               man->entry_point, dir);
out:
        free(data);
        free(man);
        return r;
}

static int cmd_pack(int argc, char **argv)
{
        static const struct option opts[] = {
                {"out", required_argument, NULL, 'o'},
                {"name", required_argument, NULL, 'n'},
                {"type", required_argument, NULL, 't'},
                {"version", required_argument, NULL, 'v'},
                {"svn", required_argument, NULL, 's'},
                {"component-id", required_argument, NULL, 'c'},
                {"hw-compat", required_argument, NULL, 'w'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *hw[IMG_MAX_HW_COMPAT + 1];
        struct img_pack_opts o = {0};
        const char *out = NULL, *type = NULL, *svn = NULL, *dir, *sde;
        struct img_meta m;
        struct rp_err err = {0};
        char *tmp = NULL, *end;
        int c, fd, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'o': out = optarg; break;
                case 'n': o.name = optarg; break;
                case 't': type = optarg; break;
                case 'v': o.version = optarg; break;
                case 's': svn = optarg; break;
                case 'c': o.component_id = optarg; break;
                case 'w':
                        if (o.n_hw_compat == IMG_MAX_HW_COMPAT)
                                return cli_errorf(CLI_EXIT_USAGE, "at most %d --hw-compat ids",
                                                  IMG_MAX_HW_COMPAT);
                        hw[o.n_hw_compat++] = optarg;
                        break;
                case 'h':
                        usage_pack(stdout);
                        return CLI_EXIT_OK;
                default:
                        return bad_option("pack", argv, usage_pack);
                }
        }
        if (argc - optind != 1) {
                usage_pack(stderr);
                return cli_errorf(CLI_EXIT_USAGE, "image pack: expected exactly one directory");
        }
        dir = argv[optind];
        if (!out || !o.name || !type || !o.version || !svn || !o.component_id) {
                usage_pack(stderr);
                return cli_errorf(CLI_EXIT_USAGE,
                                  "image pack: --out, --name, --type, --version, --svn and --component-id are required");
        }
        if (img_type_parse(type, &o.type) < 0)
                return cli_errorf(CLI_EXIT_USAGE, "image pack: --type must be 'os' or 'app', not '%s'", type);
        errno = 0;
        unsigned long long v = strtoull(svn, &end, 10);
        if (errno || !*svn || *end || svn[0] == '-' || v > UINT32_MAX)
                return cli_errorf(CLI_EXIT_USAGE, "image pack: --svn '%s' is not a number in 0..4294967295",
                                  svn);
        o.svn = (uint32_t)v;
        o.hw_compat = hw;
        o.created = time(NULL);
        if ((sde = getenv("SOURCE_DATE_EPOCH")) && *sde) {
                errno = 0;
                long long t = strtoll(sde, &end, 10);
                if (errno || *end || t < 0)
                        return cli_errorf(CLI_EXIT_USAGE, "SOURCE_DATE_EPOCH '%s' is not a time", sde);
                o.created = t;
        }
        if (o.type == IMG_TYPE_APP && (r = check_app_manifest(dir, o.component_id)) != CLI_EXIT_OK)
                return r;
        if ((r = open_tmp_next_to(out, &tmp, &fd)) != CLI_EXIT_OK)
                return r;
        if (img_pack_dir(dir, &o, fd, &m, &err) < 0) {
                close(fd);
                unlink(tmp);
                free(tmp);
                return cli_fail(&err);
        }
        r = commit_tmp(fd, tmp, out);
        close(fd);
        free(tmp);
        if (r != CLI_EXIT_OK)
                return r;
        printf("packed %s %s (%s, svn %u): %llu payload bytes -> %s (unsigned)\n", m.name, m.version,
               img_type_name(m.type), m.svn, (unsigned long long)m.payload_len, out);
        return CLI_EXIT_OK;
}

/* ---- sign ---- */

static int cmd_sign(int argc, char **argv)
{
        static const struct option opts[] = {
                {"key", required_argument, NULL, 'k'},
                {"out", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        _cleanup_(cr_key_freep) struct cr_key *key = NULL;
        const char *keyp = NULL, *out = NULL, *pkg;
        _cleanup_close_ int in = -1;
        struct img_meta m;
        struct rp_err err = {0};
        char *tmp = NULL, id[65], dig[65];
        int c, fd, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'k': keyp = optarg; break;
                case 'o': out = optarg; break;
                case 'h':
                        usage_sign(stdout);
                        return CLI_EXIT_OK;
                default:
                        return bad_option("sign", argv, usage_sign);
                }
        }
        if (argc - optind != 1 || !keyp) {
                usage_sign(stderr);
                return cli_errorf(CLI_EXIT_USAGE, "image sign: expected one package and --key KEY.pem");
        }
        pkg = argv[optind];
        if (!out)
                out = pkg;
        if (cr_key_load_pem(keyp, &key, &err) < 0)
                return cli_fail(&err);
        if (!cr_key_is_private(key))
                return cli_errorf(CLI_EXIT_FAIL, "'%s' holds a public key; signing needs the private key",
                                  keyp);
        if ((r = open_pkg(pkg, &in)) != CLI_EXIT_OK)
                return r;
        if ((r = open_tmp_next_to(out, &tmp, &fd)) != CLI_EXIT_OK)
                return r;
        if (img_sign(in, fd, key, &m, &err) < 0) {
                close(fd);
                unlink(tmp);
                free(tmp);
                rp_err_prefix(&err, "'%s'", pkg);
                return cli_fail(&err);
        }
        r = commit_tmp(fd, tmp, out);
        close(fd);
        free(tmp);
        if (r != CLI_EXIT_OK)
                return r;
        hex(m.signer_key_id, 32, id);
        hex(m.image_digest, 32, dig);
        printf("signed %s %s -> %s\nkey id: %s\nimage digest: %s\nsignatures: %zu\n", m.name,
               m.version, out, id, dig, m.n_signatures);
        return CLI_EXIT_OK;
}

/* ---- verify / info ---- */

static int cmd_verify_or_info(int argc, char **argv, bool info)
{
        static const struct option opts[] = {
                {"trust", required_argument, NULL, 't'},
                {"output", required_argument, NULL, 'O'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct trust t = {0};
        bool json = false;
        const char *pkg;
        _cleanup_close_ int fd = -1;
        struct img_info inf;
        struct img_meta m;
        struct rp_err err = {0};
        char id[65];
        int c, r;
        void (*u)(FILE *) = info ? usage_info : usage_verify;
        const char *cmd = info ? "info" : "verify";
        bool listed_all = true;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 't':
                        if ((r = trust_add(&t, optarg)) != CLI_EXIT_OK)
                                goto out;
                        break;
                case 'O':
                        if ((r = parse_output(optarg, &json)) != CLI_EXIT_OK)
                                goto out;
                        break;
                case 'h':
                        u(stdout);
                        r = CLI_EXIT_OK;
                        goto out;
                default:
                        r = bad_option(cmd, argv, u);
                        goto out;
                }
        }
        if (argc - optind != 1) {
                u(stderr);
                r = cli_errorf(CLI_EXIT_USAGE, "image %s: expected exactly one package", cmd);
                goto out;
        }
        if (!info && t.n == 0) {
                u(stderr);
                r = cli_errorf(CLI_EXIT_USAGE, "image verify: at least one --trust PUB.pem is required");
                goto out;
        }
        pkg = argv[optind];
        if ((r = open_pkg(pkg, &fd)) != CLI_EXIT_OK)
                goto out;
        /* With trusted keys, the verdict over one full pass comes first:
         * nothing is parsed before it. The record list (key ids of every
         * signature, trusted or not) is read afterwards. */
        if (t.n) {
                if (img_verify_fd(fd, t.keys, t.n, &m, &err) < 0) {
                        rp_err_prefix(&err, "'%s' does NOT verify", pkg);
                        r = cli_fail(&err);
                        goto out;
                }
                hex(m.signer_key_id, 32, id);
        }
        struct stat st;
        if (t.n && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
                /* a pipe was read once by the verifier; its record list
                 * cannot be re-read, so list the trusted signer only */
                memset(&inf, 0, sizeof(inf));
                inf.meta = m;
                inf.n_signatures = 1;
                memcpy(inf.key_ids[0], m.signer_key_id, CR_KEY_ID_LEN);
                listed_all = false;
        } else if (img_inspect_fd(fd, &inf, &err) < 0) {
                rp_err_prefix(&err, "'%s'", pkg);
                r = cli_fail(&err);
                goto out;
        }
        if (t.n && memcmp(inf.meta.image_digest, m.image_digest, CR_SHA256_LEN) != 0) {
                r = cli_errorf(CLI_EXIT_FAIL, "'%s' changed while it was being read", pkg);
                goto out;
        }
        if (!t.n)
                m = inf.meta;
        if (json) {
                json_t *j = meta_json(&m), *sigs = json_array();
                for (size_t i = 0; i < inf.n_signatures; i++) {
                        char k[65];
                        hex(inf.key_ids[i], 32, k);
                        json_array_append_new(sigs, json_pack("{s:s}", "key_id", k));
                }
                json_object_set_new(j, "package", json_string(pkg));
                json_object_set_new(j, "signatures", sigs);
                json_object_set_new(j, "verified", json_boolean(t.n > 0));
                if (t.n)
                        json_object_set_new(j, "signer_key_id", json_string(id));
                print_json(j);
        } else {
                if (t.n)
                        printf("status:        VERIFIED: signed by trusted key %s, payload digest matches\n",
                               id);
                else
                        printf("status:        UNVERIFIED: nothing below is authenticated (pass --trust to verify)\n");
                print_meta_text(pkg, &m);
                if (listed_all)
                        printf("signatures:    %zu%s\n", inf.n_signatures,
                               inf.n_signatures ? "" : " (unsigned)");
                else
                        printf("signatures:    %zu (input is not a file: only the trusted signer is listed)\n",
                               m.n_signatures);
                for (size_t i = 0; i < inf.n_signatures; i++) {
                        char k[65];
                        hex(inf.key_ids[i], 32, k);
                        printf("  key id:      %s\n", k);
                }
        }
        r = CLI_EXIT_OK;
out:
        trust_free(&t);
        return r;
}

/* ---- extract ---- */

static int cmd_extract(int argc, char **argv)
{
        static const struct option opts[] = {
                {"trust", required_argument, NULL, 't'},
                {"to", required_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct trust t = {0};
        const char *to = NULL, *pkg;
        _cleanup_close_ int fd = -1;
        struct img_meta m;
        struct rp_err err = {0};
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 't':
                        if ((r = trust_add(&t, optarg)) != CLI_EXIT_OK)
                                goto out;
                        break;
                case 'd': to = optarg; break;
                case 'h':
                        usage_extract(stdout);
                        r = CLI_EXIT_OK;
                        goto out;
                default:
                        r = bad_option("extract", argv, usage_extract);
                        goto out;
                }
        }
        if (argc - optind != 1 || !to || t.n == 0) {
                usage_extract(stderr);
                r = cli_errorf(CLI_EXIT_USAGE,
                               "image extract: expected one package, --trust PUB.pem and --to DIR");
                goto out;
        }
        pkg = argv[optind];
        if ((r = open_pkg(pkg, &fd)) != CLI_EXIT_OK)
                goto out;
        if (img_extract_fd(fd, t.keys, t.n, to, NULL, &m, &err) < 0) {
                rp_err_prefix(&err, "'%s' not extracted", pkg);
                r = cli_fail(&err);
                goto out;
        }
        printf("verified and extracted %s %s (%s, svn %u) into %s\n", m.name, m.version,
               img_type_name(m.type), m.svn, to);
        r = CLI_EXIT_OK;
out:
        trust_free(&t);
        return r;
}

/* ---- upload (to rampart-server) ---- */

#define UPLOAD_INLINE_MAX (4 * 1024 * 1024)     /* larger packages go in pieces */
#define UPLOAD_PIECE (4 * 1024 * 1024)          /* base64url-encoded under the body cap */
#define UPLOAD_MAX_TARGETS (1024 * 1024)

static void usage_upload(FILE *f)
{
        fprintf(f, "usage: rampart image upload PKG --targets FILE [--feed retail|retail-eval]\n"
                   "                            [--output table|json]\n\n"
                   "Sends the signed image package PKG with the targets metadata FILE that\n"
                   "lists it to the server of 'rampart login'. An app image goes to your\n"
                   "tenant (FILE: your delegated targets, signed with your delegated key); an\n"
                   "OS image is the platform operator's (FILE: the platform targets). The\n"
                   "server stores it only when PKG is signed by a key that signed FILE and\n"
                   "FILE lists PKG with exactly its SHA-256, length, version and svn. A newer\n"
                   "FILE is stored with the image. --feed (OS images): retail (default) or\n"
                   "retail-eval. Packages over %d MiB are sent in pieces.\n",
                UPLOAD_INLINE_MAX >> 20);
}

static char *b64u_dup(const uint8_t *p, size_t n)
{
        char *s = malloc(rp_b64url_encoded_len(n) + 1);
        if (s)
                rp_b64url_encode(p, n, s);
        return s;
}

/* Sends the file in pieces to a new upload session; *ret_id is its id. */
static int send_pieces(int fd, uint64_t size, const char *base, char **ret_id)
{
        _cleanup_(json_decrefp) json_t *sess = NULL;
        _cleanup_free_ uint8_t *buf = malloc(UPLOAD_PIECE);
        char path[256];
        int rc;
        if (!buf)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        snprintf(path, sizeof(path), "%s/uploads", base);
        if ((rc = cli_api("POST", path, NULL, &sess)) != CLI_EXIT_OK)
                return rc;
        const char *id = json_string_value(json_object_get(sess, "id"));
        if (!id)
                return cli_errorf(CLI_EXIT_FAIL, "the server did not name the upload session");
        snprintf(path, sizeof(path), "%s/uploads/%s", base, id);
        for (uint64_t off = 0; off < size;) {
                size_t n = size - off < UPLOAD_PIECE ? (size_t)(size - off) : UPLOAD_PIECE;
                if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
                        return cli_errorf(CLI_EXIT_FAIL, "reading the package: %s",
                                          strerror(errno));
                _cleanup_free_ char *b64 = b64u_dup(buf, n);
                _cleanup_(json_decrefp) json_t *reply = NULL;
                _cleanup_(json_decrefp) json_t *piece = json_pack("{s:I,s:s}", "offset",
                                                                   (json_int_t)off, "data", b64);
                if (!b64 || !piece)
                        return cli_errorf(CLI_EXIT_FAIL, "out of memory");
                if ((rc = cli_api("POST", path, piece, &reply)) != CLI_EXIT_OK)
                        return rc;
                off += n;
        }
        *ret_id = strdup(id);
        return *ret_id ? CLI_EXIT_OK : cli_errorf(CLI_EXIT_FAIL, "out of memory");
}

static int cmd_upload(int argc, char **argv)
{
        static const struct option opts[] = {
                {"targets", required_argument, NULL, 't'},
                {"feed", required_argument, NULL, 'f'},
                {"output", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *targets = NULL, *feed = NULL;
        enum cli_output out = CLI_OUT_TABLE;
        struct rp_err err = {0};
        _cleanup_free_ uint8_t *tj = NULL;
        _cleanup_free_ char *session = NULL;
        _cleanup_(json_decrefp) json_t *reply = NULL;
        _cleanup_close_ int fd = -1;
        struct img_info info;
        struct stat sb;
        size_t tj_len = 0;
        int c, rc;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 't': targets = optarg; break;
                case 'f': feed = optarg; break;
                case 'o':
                        if (cli_output_parse(optarg, &out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'h': usage_upload(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!targets || optind != argc - 1) {
                usage_upload(stderr);
                return CLI_EXIT_USAGE;
        }
        const char *path = argv[optind];
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
                return cli_errorf(CLI_EXIT_FAIL, "cannot open '%s' as a regular file", path);
        /* the type only picks the route; the server verifies everything */
        if (img_inspect_fd(fd, &info, &err) < 0)
                return cli_fail(&err);
        if (rp_read_file(targets, UPLOAD_MAX_TARGETS, &tj, &tj_len, &err) < 0)
                return cli_fail(&err);
        bool os = info.meta.type == IMG_TYPE_OS;
        const char *base = os ? "/api/v1/os-images" : "/api/v1/images";
        if (feed && !os)
                return cli_errorf(CLI_EXIT_USAGE, "--feed applies to OS images; '%s' is an app "
                                  "image", path);
        _cleanup_(json_decrefp) json_t *body = json_pack("{s:s%}", "targets", (const char *)tj,
                                                          tj_len);
        if (!body)
                return cli_errorf(CLI_EXIT_FAIL, "'%s' is not text metadata", targets);
        if ((uint64_t)sb.st_size > UPLOAD_INLINE_MAX) {
                if ((rc = send_pieces(fd, (uint64_t)sb.st_size, base, &session)) != CLI_EXIT_OK)
                        return rc;
                json_object_set_new(body, "upload", json_string(session));
        } else {
                _cleanup_free_ uint8_t *pkg = NULL;
                size_t pkg_len = 0;
                if (rp_read_file(path, UPLOAD_INLINE_MAX, &pkg, &pkg_len, &err) < 0)
                        return cli_fail(&err);
                char *b64 = b64u_dup(pkg, pkg_len);
                if (!b64)
                        return cli_errorf(CLI_EXIT_FAIL, "out of memory");
                json_object_set_new(body, "package", json_string(b64));
                free(b64);
        }
        if (feed)
                json_object_set_new(body, "feed", json_string(feed));
        rc = cli_api("POST", base, body, &reply);
        if (rc != CLI_EXIT_OK)
                return rc;
        if (out == CLI_OUT_JSON) {
                cli_print_json(stdout, reply);
        } else {
                static const struct cli_column cols[] = {
                        {"ID", "id"}, {"NAME", "name"}, {"TYPE", "type"}, {"VERSION", "version"},
                        {"SVN", "svn"}, {"LENGTH", "length"}, {"SHA256", "sha256"},
                };
                cli_print_object(stdout, reply, cols, ARRAY_SIZE(cols));
        }
        return CLI_EXIT_OK;
}

int cli_image(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        if (!strcmp(argv[1], "pack"))
                return cmd_pack(argc - 1, argv + 1);
        if (!strcmp(argv[1], "sign"))
                return cmd_sign(argc - 1, argv + 1);
        if (!strcmp(argv[1], "verify"))
                return cmd_verify_or_info(argc - 1, argv + 1, false);
        if (!strcmp(argv[1], "info"))
                return cmd_verify_or_info(argc - 1, argv + 1, true);
        if (!strcmp(argv[1], "extract"))
                return cmd_extract(argc - 1, argv + 1);
        if (!strcmp(argv[1], "upload"))
                return cmd_upload(argc - 1, argv + 1);
        usage(stderr);
        return cli_errorf(CLI_EXIT_USAGE, "image: unknown command '%s'", argv[1]);
}
