/* apps_test.c - the device's installed-app store and the development
 * capability (runtime/apps.h), attacked: a capability for another device,
 * expired, signed by another key, changed after signing, of another kind,
 * without keys, oversized; packages signed by an untrusted key, OS images,
 * a manifest naming another ComponentId, a peripheral another app owns, a
 * version installed twice. Every refusal must leave the installed state as
 * it was. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "image/image.h"
#include "lib/fileio.h"
#include "runtime/apps.h"

#define UEID "00aa11bb22cc33dd44ee55ff66aa77bb88cc99dd"
#define CID_A "6a1f3c2e-8b4d-4e5f-9a7b-1c2d3e4f5a60"
#define CID_B "0c8e4b7a-2f1d-4c3b-8a9e-5d6f7a8b9c01"

struct fx {
        char dir[256], data[300], ca[300];
        struct cr_key *server, *dev;
        char *dev_pem;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        struct cr_cert *c = NULL;
        struct rp_err e = {0};
        snprintf(f->dir, sizeof(f->dir), "/tmp/apps_test.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
        snprintf(f->ca, sizeof(f->ca), "%s/server.crt", f->dir);
        assert_int_equal(mkdir(f->data, 0700), 0);
        assert_int_equal(cr_key_generate(&f->server, &e), 0);
        assert_int_equal(cr_key_generate(&f->dev, &e), 0);
        struct cr_cert_spec spec = { .cn = "server", .not_after = time(NULL) + 3600 };
        assert_int_equal(cr_cert_self_signed(f->server, &spec, &c, &e), 0);
        assert_int_equal(cr_cert_save_pem(f->ca, c, &e), 0);
        cr_cert_free(c);
        assert_int_equal(cr_key_to_pem(f->dev, false, &f->dev_pem, &e), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        assert_int_equal(rp_rm_rf(f->dir), 0);
        cr_key_free(f->server);
        cr_key_free(f->dev);
        free(f->dev_pem);
        free(f);
        return 0;
}

static char *doc(const struct cr_key *k, const char *cap, const char *ueid, long long exp, const char *keypem)
{
        char payload[2048], *jws = NULL, esc[1024];
        struct rp_err e = {0};
        size_t j = 0;
        for (size_t i = 0; keypem && keypem[i] && j + 2 < sizeof(esc); i++) {
                if (keypem[i] == '\n') {
                        esc[j++] = '\\';
                        esc[j++] = 'n';
                } else {
                        esc[j++] = keypem[i];
                }
        }
        esc[j] = '\0';
        snprintf(payload, sizeof(payload),
                 "{\"capability\":\"%s\",\"ueid\":\"%s\",\"iat\":%lld,\"exp\":%lld,\"keys\":[%s%s%s]}", cap, ueid,
                 (long long)time(NULL), exp, keypem ? "\"" : "", keypem ? esc : "", keypem ? "\"" : "");
        assert_int_equal(cr_jws_sign(k, NULL, "rampart-capability", payload, strlen(payload), &jws, &e), 0);
        return jws;
}

static void test_devcap(void **state)
{
        struct fx *f = *state;
        struct rtd_devcap c = {0};
        struct rp_err e = {0};
        time_t now = time(NULL);
        struct cr_key *other = NULL;
        char *d;

        d = doc(f->server, "development", UEID, now + 600, f->dev_pem);
        assert_int_equal(rtd_devcap_verify(d, strlen(d), f->ca, UEID, now, &c, &e), 0);
        assert_int_equal(c.n_keys, 1);
        assert_true(cr_key_pub_equal(c.keys[0], f->dev));
        rtd_devcap_clear(&c);
        /* another device */
        assert_int_equal(rtd_devcap_verify(d, strlen(d), f->ca, "11aa11bb22cc33dd44ee55ff66aa77bb88cc99dd", now, &c, &e), -EPERM);
        assert_non_null(strstr(e.msg, "is for device " UEID));
        /* expired: at exp and after */
        assert_int_equal(rtd_devcap_verify(d, strlen(d), f->ca, UEID, now + 600, &c, &e), -EKEYEXPIRED);
        /* changed after signing: one payload byte */
        char *dot = strchr(d, '.');
        dot[5] ^= 1;
        assert_true(rtd_devcap_verify(d, strlen(d), f->ca, UEID, now, &c, &e) < 0);
        assert_non_null(strstr(e.msg, "not signed by the service"));
        free(d);
        /* signed by another key */
        assert_int_equal(cr_key_generate(&other, &e), 0);
        d = doc(other, "development", UEID, now + 600, f->dev_pem);
        assert_true(rtd_devcap_verify(d, strlen(d), f->ca, UEID, now, &c, &e) < 0);
        assert_non_null(strstr(e.msg, "not signed by the service"));
        free(d);
        cr_key_free(other);
        /* another capability, or none of the keys */
        d = doc(f->server, "debug", UEID, now + 600, f->dev_pem);
        assert_int_equal(rtd_devcap_verify(d, strlen(d), f->ca, UEID, now, &c, &e), -EINVAL);
        free(d);
        d = doc(f->server, "development", UEID, now + 600, NULL);
        assert_int_equal(rtd_devcap_verify(d, strlen(d), f->ca, UEID, now, &c, &e), -EINVAL);
        free(d);
        /* oversized and empty */
        static char big[RTD_DEVCAP_MAX + 2];
        memset(big, 'a', sizeof(big) - 1);
        assert_int_equal(rtd_devcap_verify(big, sizeof(big) - 1, f->ca, UEID, now, &c, &e), -E2BIG);
        assert_int_equal(rtd_devcap_verify("", 0, f->ca, UEID, now, &c, &e), -E2BIG);
        /* nothing stored by any refusal; a good one is stored */
        char path[400];
        snprintf(path, sizeof(path), "%s/" RTD_DEVCAP_FILE, f->data);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(rtd_devcap_load(f->data, f->ca, UEID, now, &c, &e), -ENOENT);
        d = doc(f->server, "development", UEID, now + 600, f->dev_pem);
        assert_int_equal(rtd_devcap_store(f->data, d, strlen(d), f->ca, UEID, now, &c, &e), 0);
        rtd_devcap_clear(&c);
        assert_int_equal(rtd_devcap_load(f->data, f->ca, UEID, now, &c, &e), 0);
        rtd_devcap_clear(&c);
        free(d);
}

/* A signed package of an app directory with the given manifest text. */
static int package(struct fx *f, const char *name, const char *cid, const char *version, enum img_type type,
                   const char *manifest, const struct cr_key *key)
{
        char src[400], p[500], pkg[400], signed_pkg[400];
        struct rp_err e = {0};
        snprintf(src, sizeof(src), "%s/src-%s-%s", f->dir, name, version);
        snprintf(p, sizeof(p), "%s/bin", src);
        assert_int_equal(rp_mkdir_p(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/bin/%s", src, name);
        assert_int_equal(rp_write_file_atomic(p, "#!/bin/sh\n", 10, 0755, &e), 0);
        snprintf(p, sizeof(p), "%s/app_manifest.json", src);
        assert_int_equal(rp_write_file_atomic(p, manifest, strlen(manifest), 0644, &e), 0);
        snprintf(pkg, sizeof(pkg), "%s/%s-%s.unsigned", f->dir, name, version);
        snprintf(signed_pkg, sizeof(signed_pkg), "%s/%s-%s.pkg", f->dir, name, version);
        struct img_pack_opts o = { .component_id = cid, .name = name, .type = type, .version = version,
                                   .svn = 1, .created = 1700000000 };
        int out = open(pkg, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(out >= 0);
        assert_int_equal(img_pack_dir(src, &o, out, NULL, &e), 0);
        int sfd = open(signed_pkg, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(sfd >= 0);
        assert_int_equal(lseek(out, 0, SEEK_SET), 0);
        assert_int_equal(img_sign(out, sfd, key, NULL, &e), 0);
        close(out);
        return sfd;
}

static char *manifest_text(const char *name, const char *cid, const char *caps)
{
        char *m = NULL;
        assert_true(asprintf(&m, "{\"SchemaVersion\":1,\"Name\":\"%s\",\"ComponentId\":\"%s\",\"EntryPoint\":"
                                 "\"/bin/%s\",\"Capabilities\":{%s}}", name, cid, name, caps) > 0);
        return m;
}

static size_t count_installed(struct fx *f)
{
        struct rtd_app_info *v = NULL;
        size_t n = 0;
        assert_int_equal(rtd_apps_load(f->data, &v, &n, NULL, 0), 0);
        free(v);
        return n;
}

static bool no_staging_left(struct fx *f)
{
        char p[400];
        snprintf(p, sizeof(p), "%s/apps/installed", f->data);
        DIR *d = opendir(p);
        struct dirent *de;
        bool clean = true;
        while (d && (de = readdir(d)))
                if (!strncmp(de->d_name, ".stage-", 7))
                        clean = false;
        if (d)
                closedir(d);
        return clean;
}

static void test_stage_and_switch(void **state)
{
        struct fx *f = *state;
        struct rtd_app_info *info = calloc(1, sizeof(*info));
        struct rp_err e = {0};
        struct cr_key *stranger = NULL;
        struct cr_key *trusted[] = { f->dev };
        char *ma = manifest_text("blink", CID_A, "\"Gpio\":[8]");
        char *mb = manifest_text("probe", CID_B, "\"Gpio\":[8]");
        char *mb_other = manifest_text("probe", CID_A, "");
        int fd;

        assert_int_equal(cr_key_generate(&stranger, &e), 0);
        /* untrusted signer */
        fd = package(f, "blink", CID_A, "1", IMG_TYPE_APP, ma, stranger);
        assert_true(rtd_apps_stage(f->data, fd, trusted, 1, info, &e) < 0);
        assert_non_null(strstr(e.msg, "package refused"));
        close(fd);
        assert_int_equal(count_installed(f), 0);
        assert_true(no_staging_left(f));
        /* an OS image is not an app */
        fd = package(f, "blinkos", CID_A, "1", IMG_TYPE_OS, ma, f->dev);
        assert_int_equal(rtd_apps_stage(f->data, fd, trusted, 1, info, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "not an app"));
        close(fd);
        /* the manifest names another component than the package */
        fd = package(f, "probe", CID_B, "1", IMG_TYPE_APP, mb_other, f->dev);
        assert_int_equal(rtd_apps_stage(f->data, fd, trusted, 1, info, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "differs from the package's " CID_B));
        close(fd);
        assert_true(no_staging_left(f));

        /* install and switch A */
        fd = package(f, "blink", CID_A, "1", IMG_TYPE_APP, ma, f->dev);
        assert_int_equal(rtd_apps_stage(f->data, fd, trusted, 1, info, &e), 0);
        assert_string_equal(info->version, "1");
        assert_int_equal(rtd_apps_switch(f->data, CID_A, "1", &e), 0);
        /* the same version again */
        assert_int_equal(rtd_apps_stage(f->data, fd, trusted, 1, info, &e), -EEXIST);
        close(fd);
        assert_int_equal(count_installed(f), 1);

        /* B claims A's GPIO: refused, naming the pin and the owner */
        fd = package(f, "probe", CID_B, "1", IMG_TYPE_APP, mb, f->dev);
        assert_int_equal(rtd_apps_stage(f->data, fd, trusted, 1, info, &e), -EBUSY);
        assert_non_null(strstr(e.msg, "Gpio[0]' is 8, already owned by app 'blink'"));
        close(fd);
        assert_int_equal(count_installed(f), 1);
        assert_true(no_staging_left(f));

        /* A version 2 (same GPIO: its own older version is no conflict), kept previous */
        fd = package(f, "blink", CID_A, "2", IMG_TYPE_APP, ma, f->dev);
        assert_int_equal(rtd_apps_stage(f->data, fd, trusted, 1, info, &e), 0);
        close(fd);
        assert_int_equal(rtd_apps_switch(f->data, CID_A, "2", &e), 0);
        struct rtd_app_info *v = NULL;
        size_t n = 0;
        assert_int_equal(rtd_apps_load(f->data, &v, &n, NULL, 0), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].version, "2");
        assert_string_equal(v[0].previous, "1");
        free(v);
        char p[400];
        snprintf(p, sizeof(p), "%s/apps/installed/" CID_A "/v/1", f->data);
        assert_int_equal(access(p, F_OK), 0);
        assert_int_equal(rtd_apps_prune(f->data, CID_A, &e), 0);
        assert_int_equal(access(p, F_OK), -1);
        assert_int_equal(rtd_apps_remove(f->data, CID_A, &e), 0);
        assert_int_equal(count_installed(f), 0);
        assert_int_equal(rtd_apps_remove(f->data, "not-a-uuid", &e), -EINVAL);

        cr_key_free(stranger);
        free(ma);
        free(mb);
        free(mb_other);
        free(info);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_devcap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stage_and_switch, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
