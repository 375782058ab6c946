/* config.c - see config.h. */
#include "runtime/config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/fileio.h"

int rtd_config_check_server(const char *url, struct rp_err *err)
{
        size_t n = strlen(url);
        const char *host = url + 8;

        if (strncmp(url, "https://", 8) != 0)
                return rp_err_set(err, -EINVAL, "server URL '%s' does not start with https://",
                                  url);
        if (n >= RTD_URL_MAX)
                return rp_err_set(err, -EINVAL, "server URL of %zu bytes is over the limit of %d",
                                  n, RTD_URL_MAX - 1);
        if (!*host || *host == '/' || *host == ':')
                return rp_err_set(err, -EINVAL, "server URL '%s' names no host", url);
        for (const char *p = url; *p; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' ||
                    *p == '#' || *p == '@')
                        return rp_err_set(err, -EINVAL, "server URL '%s' has a character that "
                                          "is not allowed at offset %zu", url, (size_t)(p - url));
        if (url[n - 1] == '/')
                return rp_err_set(err, -EINVAL, "server URL '%s' must not end with '/'", url);
        if (strchr(host, '/'))
                return rp_err_set(err, -EINVAL, "server URL '%s' must not have a path", url);
        return 0;
}

int rtd_config_check_tenant(const char *t, struct rp_err *err)
{
        if (strlen(t) != RTD_TENANT_LEN || strncmp(t, "ten_", 4) != 0)
                return rp_err_set(err, -EINVAL, "tenant id '%s' is not 'ten_' followed by 32 "
                                  "lowercase hex digits", t);
        for (const char *p = t + 4; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return rp_err_set(err, -EINVAL, "tenant id '%s' is not 'ten_' followed "
                                          "by 32 lowercase hex digits", t);
        return 0;
}

static int get_str(json_t *o, const char *key, bool required, char *out, size_t size,
                   const char *path, struct rp_err *err)
{
        json_t *v = json_object_get(o, key);
        const char *s;

        if (!v) {
                if (required)
                        return rp_err_set(err, -EINVAL, "'%s': member '%s' is missing", path, key);
                out[0] = 0;
                return 0;
        }
        if (!json_is_string(v))
                return rp_err_set(err, -EINVAL, "'%s': member '%s' is not a string", path, key);
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v) || strlen(s) >= size)
                return rp_err_set(err, -EINVAL, "'%s': member '%s' is too long or has a NUL",
                                  path, key);
        snprintf(out, size, "%s", s);
        return 0;
}

int rtd_config_load(const char *data_dir, struct rtd_config *ret, struct rp_err *err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        struct rtd_config c;
        json_error_t je;
        const char *key;
        json_t *v;
        size_t len;
        int r;

        if (asprintf(&path, "%s/%s", data_dir, RTD_CONFIG_FILE) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rp_read_file(path, RTD_CONFIG_MAX, &data, &len, err);
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no configuration '%s': run 'rampart-device "
                                  "configure DEVICE --server URL --tenant ID' first", path);
        if (r < 0)
                return r;
        o = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
        if (!o || !json_is_object(o))
                return rp_err_set(err, -EINVAL, "'%s' is not a JSON object: %s", path,
                                  o ? "wrong type" : je.text);
        json_object_foreach(o, key, v)
                if (strcmp(key, "server") && strcmp(key, "tenant") && strcmp(key, "server_ca"))
                        return rp_err_set(err, -EINVAL, "'%s': unknown member '%s'", path, key);
        memset(&c, 0, sizeof(c));
        if ((r = get_str(o, "server", true, c.server, sizeof(c.server), path, err)) < 0 ||
            (r = get_str(o, "tenant", true, c.tenant, sizeof(c.tenant), path, err)) < 0 ||
            (r = get_str(o, "server_ca", false, c.server_ca, sizeof(c.server_ca), path, err)) < 0)
                return r;
        if ((r = rtd_config_check_server(c.server, err)) < 0 ||
            (r = rtd_config_check_tenant(c.tenant, err)) < 0)
                return rp_err_prefix(err, "'%s'", path);
        *ret = c;
        return 0;
}

int rtd_config_save(const char *data_dir, const struct rtd_config *c, struct rp_err *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        int r;

        if ((r = rtd_config_check_server(c->server, err)) < 0 ||
            (r = rtd_config_check_tenant(c->tenant, err)) < 0)
                return r;
        o = json_pack("{s:s, s:s}", "server", c->server, "tenant", c->tenant);
        if (o && c->server_ca[0] && json_object_set_new(o, "server_ca",
                                                        json_string(c->server_ca)) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (!o || !(text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
                return rp_err_set(err, -EINVAL, "cannot encode the configuration (server_ca "
                                  "must be UTF-8)");
        if (asprintf(&path, "%s/%s", data_dir, RTD_CONFIG_FILE) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rp_mkdir_p(data_dir, 0700);
        if (r < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", data_dir, strerror(-r));
        return rp_write_file_atomic(path, text, strlen(text), 0600, err);
}
