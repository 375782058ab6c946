/* certs.c - see certs.h. */
#include "runtime/certs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"

#define SIDECAR_MAX 4096

static const char *const purpose_names[RTD_PURPOSE_COUNT] = {"platform", "app"};

const char *rtd_purpose_name(enum rtd_purpose p)
{
        return (unsigned)p < RTD_PURPOSE_COUNT ? purpose_names[p] : "unknown";
}

void rtd_cert_clear(struct rtd_cert *c)
{
        cr_cert_free(c->cert);
        memset(c, 0, sizeof(*c));
}

static char *cert_path(const char *dir, enum rtd_purpose p, const char *ext)
{
        char *s = NULL;
        if (asprintf(&s, "%s/certs/%s.%s", dir, rtd_purpose_name(p), ext) < 0)
                return NULL;
        return s;
}

/* Parses one PEM certificate and fills the derived fields. */
static int parse_cert(const void *pem, size_t len, struct rtd_cert *c, uint8_t fpr[CR_SHA256_LEN],
                      struct rp_err *err)
{
        _cleanup_free_ char *serial = NULL;
        int r;

        r = cr_cert_from_pem(pem, len, &c->cert, err);
        if (r < 0)
                return r;
        r = cr_cert_validity(c->cert, &c->not_before, &c->not_after);
        if (r == 0)
                r = cr_cert_fingerprint(c->cert, fpr);
        if (r == 0)
                r = cr_cert_serial_hex(c->cert, &serial);
        if (r < 0)
                return rp_err_set(err, r, "cannot read the certificate's fields");
        snprintf(c->serial, sizeof(c->serial), "%s", serial);
        return 0;
}

int rtd_cert_store(const char *data_dir, enum rtd_purpose p, const char *pem, size_t len,
                   uint32_t handle, uint64_t bootcount, const uint8_t fwid[CR_SHA256_LEN],
                   struct rp_err *err)
{
        _cleanup_free_ char *dir = NULL, *pem_path = cert_path(data_dir, p, "pem"),
                            *json_path = cert_path(data_dir, p, "json"), *text = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        struct rtd_cert c = {0};
        uint8_t fpr[CR_SHA256_LEN];
        char fpr_hex[2 * CR_SHA256_LEN + 1], fwid_hex[2 * CR_SHA256_LEN + 1];
        int r;

        if (!pem_path || !json_path || asprintf(&dir, "%s/certs", data_dir) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (len > RTD_CERT_MAX)
                return rp_err_set(err, -EFBIG, "%s certificate of %zu bytes is over the limit of "
                                  "%d", rtd_purpose_name(p), len, RTD_CERT_MAX);
        r = parse_cert(pem, len, &c, fpr, err);
        rtd_cert_clear(&c);
        if (r < 0)
                return rp_err_prefix(err, "%s certificate", rtd_purpose_name(p));
        rp_hex_encode(fpr, sizeof(fpr), fpr_hex);
        rp_hex_encode(fwid, CR_SHA256_LEN, fwid_hex);
        o = json_pack("{s:I, s:I, s:s, s:s}", "handle", (json_int_t)handle, "bootcount",
                      (json_int_t)bootcount, "fwid", fwid_hex, "cert_sha256", fpr_hex);
        if (!o || !(text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rp_mkdir_p(dir, 0700);
        if (r < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", dir, strerror(-r));
        r = rp_write_file_atomic(pem_path, pem, len, 0600, err);
        if (r == 0)
                r = rp_write_file_atomic(json_path, text, strlen(text), 0600, err);
        return r;
}

static int get_u64(json_t *o, const char *key, uint64_t max, uint64_t *ret, const char *path,
                   struct rp_err *err)
{
        json_t *v = json_object_get(o, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (uint64_t)json_integer_value(v) > max)
                return rp_err_set(err, -EINVAL, "'%s': member '%s' is missing or out of range",
                                  path, key);
        *ret = (uint64_t)json_integer_value(v);
        return 0;
}

static int get_hex32(json_t *o, const char *key, uint8_t out[32], const char *path,
                     struct rp_err *err)
{
        json_t *v = json_object_get(o, key);
        if (!json_is_string(v) || json_string_length(v) != 64 ||
            rp_hex_decode(json_string_value(v), out, 32) < 0)
                return rp_err_set(err, -EINVAL, "'%s': member '%s' is not 64 hex digits", path,
                                  key);
        return 0;
}

int rtd_cert_load(const char *data_dir, enum rtd_purpose p, struct rtd_cert *ret,
                  struct rp_err *err)
{
        _cleanup_free_ char *pem_path = cert_path(data_dir, p, "pem"),
                            *json_path = cert_path(data_dir, p, "json");
        _cleanup_free_ uint8_t *pem = NULL, *side = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        struct rtd_cert c = {0};
        uint8_t fpr[CR_SHA256_LEN], want[CR_SHA256_LEN];
        uint64_t handle, boot;
        size_t pem_len, side_len;
        json_error_t je;
        int r;

        if (!pem_path || !json_path)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rp_read_file(json_path, SIDECAR_MAX, &side, &side_len, err);
        if (r == 0)
                r = rp_read_file(pem_path, RTD_CERT_MAX, &pem, &pem_len, err);
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no %s certificate", rtd_purpose_name(p));
        if (r < 0)
                return r;
        o = json_loadb((const char *)side, side_len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(o))
                return rp_err_set(err, -EINVAL, "'%s' is not a JSON object", json_path);
        if ((r = get_u64(o, "handle", UINT32_MAX, &handle, json_path, err)) < 0 ||
            (r = get_u64(o, "bootcount", INT64_MAX, &boot, json_path, err)) < 0 ||
            (r = get_hex32(o, "fwid", c.fwid, json_path, err)) < 0 ||
            (r = get_hex32(o, "cert_sha256", want, json_path, err)) < 0)
                return r;
        r = parse_cert(pem, pem_len, &c, fpr, err);
        if (r < 0) {
                rtd_cert_clear(&c);
                return rp_err_prefix(err, "'%s'", pem_path);
        }
        if (!cr_memeq(fpr, want, sizeof(fpr))) {
                rtd_cert_clear(&c);
                return rp_err_set(err, -ESTALE, "'%s' is not the certificate '%s' names",
                                  pem_path, json_path);
        }
        c.handle = (uint32_t)handle;
        c.bootcount = boot;
        *ret = c;
        return 0;
}

bool rtd_cert_usable(const struct rtd_cert *c, uint64_t bootcount, time_t now)
{
        return c->cert && c->bootcount == bootcount && c->handle != 0 && now >= c->not_before &&
               now < c->not_after;
}

time_t rtd_cert_renew_at(const struct rtd_cert *c, double fraction)
{
        double life = difftime(c->not_after, c->not_before);
        if (life < 0)
                life = 0;
        return c->not_before + (time_t)(life * fraction);
}
