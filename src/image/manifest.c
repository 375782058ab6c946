/* manifest.c - see manifest.h. Trusts nothing in the input: every field is
 * checked for type, range and length before it is copied out. */
#include "image/manifest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define F_CAP "Capabilities."

static const char *json_type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "an object";
        case JSON_ARRAY: return "an array";
        case JSON_STRING: return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL: return "a real number";
        case JSON_TRUE:
        case JSON_FALSE: return "a boolean";
        case JSON_NULL: return "null";
        }
        return "unknown";
}

static int wrong_type(struct rp_err *err, const char *field, const json_t *v, const char *want)
{
        return rp_err_set(err, -EINVAL, "manifest: field '%s' is %s, expected %s", field,
                          json_type_name(v), want);
}

/* Copies a JSON string into dst (cap bytes + NUL), rejecting over-long values
 * and control characters. */
static int get_string(const json_t *v, const char *field, char *dst, size_t cap,
                      struct rp_err *err)
{
        if (!json_is_string(v))
                return wrong_type(err, field, v, "a string");
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0)
                return rp_err_set(err, -EINVAL, "manifest: field '%s' is empty", field);
        if (n > cap)
                return rp_err_set(err, -E2BIG, "manifest: field '%s' is %zu bytes long, the limit is %zu",
                                  field, n, cap);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return rp_err_set(err, -EINVAL,
                                          "manifest: field '%s' contains control character 0x%02x",
                                          field, (unsigned char)s[i]);
        memcpy(dst, s, n);
        dst[n] = '\0';
        return 0;
}

static int get_int(const json_t *v, const char *field, long long lo, long long hi,
                   long long *ret, struct rp_err *err)
{
        if (!json_is_integer(v))
                return wrong_type(err, field, v, "an integer");
        long long x = json_integer_value(v);
        if (x < lo || x > hi)
                return rp_err_set(err, -EINVAL, "manifest: field '%s' is %lld, allowed range is %lld..%lld",
                                  field, x, lo, hi);
        *ret = x;
        return 0;
}

static int get_bool(const json_t *v, const char *field, bool *ret, struct rp_err *err)
{
        if (!json_is_boolean(v))
                return wrong_type(err, field, v, "a boolean");
        *ret = json_is_true(v);
        return 0;
}

static int get_array(const json_t *v, const char *field, size_t max, struct rp_err *err)
{
        if (!json_is_array(v))
                return wrong_type(err, field, v, "an array");
        if (json_array_size(v) > max)
                return rp_err_set(err, -E2BIG, "manifest: field '%s' has %zu entries, the limit is %zu",
                                  field, json_array_size(v), max);
        return 0;
}

static bool valid_uuid(const char *s)
{
        if (strlen(s) != IMG_MANIFEST_ID_LEN)
                return false;
        for (size_t i = 0; i < IMG_MANIFEST_ID_LEN; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!isxdigit((unsigned char)s[i])) {
                        return false;
                }
        }
        return true;
}

static void lower(char *s)
{
        for (; *s; s++)
                *s = (char)tolower((unsigned char)*s);
}

bool img_manifest_valid_dns_name(const char *s)
{
        size_t n = strlen(s), label = 0;
        bool last_all_digits = true;

        if (n == 0 || n > IMG_MANIFEST_HOST_MAX)
                return false;
        for (size_t i = 0; i <= n; i++) {
                char c = s[i];
                if (c == '.' || c == '\0') {
                        if (label == 0 || label > 63 || s[i - 1] == '-')
                                return false;
                        if (c == '\0')
                                break;
                        label = 0;
                        last_all_digits = true;
                        continue;
                }
                if (label == 0 && c == '-')
                        return false;
                if (!isalnum((unsigned char)c) && c != '-')
                        return false;
                if (!isdigit((unsigned char)c))
                        last_all_digits = false;
                label++;
        }
        /* An all-numeric top label would read as a (bad) address, RFC 3696. */
        return !last_all_digits;
}

int img_manifest_parse_ip(const char *s, uint8_t ret[16], size_t *ret_len)
{
        uint8_t buf[16];

        if (strlen(s) > INET6_ADDRSTRLEN)
                return -EINVAL;
        if (inet_pton(AF_INET, s, buf) == 1) {
                memcpy(ret, buf, 4);
                *ret_len = 4;
                return 0;
        }
        if (strchr(s, ':') && inet_pton(AF_INET6, s, buf) == 1) {
                memcpy(ret, buf, 16);
                *ret_len = 16;
                return 0;
        }
        return -EINVAL;
}

/* "host", "host:port", "[v6]:port" or a bare IPv6 literal. */
static int parse_conn(const char *field, const char *s, struct img_manifest_conn *c,
                      struct rp_err *err)
{
        char host[IMG_MANIFEST_HOST_MAX + 1];
        const char *port_s = NULL;
        size_t alen;

        memset(c, 0, sizeof(*c));
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || (size_t)(close - s - 1) >= sizeof(host))
                        return rp_err_set(err, -EINVAL, "manifest: field '%s' is '%s', not a host or address",
                                          field, s);
                memcpy(host, s + 1, (size_t)(close - s - 1));
                host[close - s - 1] = '\0';
                if (close[1] == ':')
                        port_s = close + 2;
                else if (close[1] != '\0')
                        return rp_err_set(err, -EINVAL, "manifest: field '%s' is '%s', not a host or address",
                                          field, s);
                if (!strchr(host, ':'))
                        return rp_err_set(err, -EINVAL,
                                          "manifest: field '%s' is '%s': brackets are only for IPv6 addresses",
                                          field, s);
        } else {
                const char *colon = strchr(s, ':');
                if (colon && strchr(colon + 1, ':')) {
                        /* bare IPv6 literal, no port */
                        snprintf(host, sizeof(host), "%s", s);
                } else {
                        size_t hl = colon ? (size_t)(colon - s) : strlen(s);
                        if (hl >= sizeof(host))
                                return rp_err_set(err, -EINVAL, "manifest: field '%s' is '%s', not a host or address",
                                                  field, s);
                        memcpy(host, s, hl);
                        host[hl] = '\0';
                        if (colon)
                                port_s = colon + 1;
                }
        }
        if (port_s) {
                long p = 0;
                size_t i = 0;
                for (; port_s[i] && i < 6; i++) {
                        if (!isdigit((unsigned char)port_s[i]))
                                break;
                        p = p * 10 + (port_s[i] - '0');
                }
                if (i == 0 || port_s[i] != '\0' || port_s[0] == '0' || p < 1 || p > 65535)
                        return rp_err_set(err, -EINVAL,
                                          "manifest: field '%s' is '%s': port '%s' is not in 1..65535",
                                          field, s, port_s);
                c->port = (uint16_t)p;
        }
        if (img_manifest_parse_ip(host, c->addr, &alen) == 0) {
                c->kind = alen == 4 ? IMG_HOST_IPV4 : IMG_HOST_IPV6;
                /* store the canonical text form */
                inet_ntop(alen == 4 ? AF_INET : AF_INET6, c->addr, c->host, sizeof(c->host));
                return 0;
        }
        if (strchr(host, ':') || !img_manifest_valid_dns_name(host))
                return rp_err_set(err, -EINVAL,
                                  "manifest: field '%s' is '%s', not a valid DNS name or IP address",
                                  field, s);
        c->kind = IMG_HOST_NAME;
        snprintf(c->host, sizeof(c->host), "%s", host);
        lower(c->host);
        return 0;
}

static int parse_ports(const json_t *v, const char *field, uint16_t *out, size_t *ret_n,
                       struct rp_err *err)
{
        char f[80];
        size_t i;
        json_t *e;
        int r;

        if ((r = get_array(v, field, IMG_MANIFEST_MAX_PORTS, err)) < 0)
                return r;
        json_array_foreach(v, i, e) {
                long long p;
                snprintf(f, sizeof(f), "%s[%zu]", field, i);
                if ((r = get_int(e, f, 1, 65535, &p, err)) < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (out[j] == p)
                                return rp_err_set(err, -EINVAL, "manifest: field '%s' is %lld, listed twice",
                                                  f, p);
                out[i] = (uint16_t)p;
        }
        *ret_n = json_array_size(v);
        return 0;
}

static bool valid_periph_name(const char *s)
{
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
                        return false;
        return true;
}

static int parse_periph_names(const json_t *v, const char *field,
                              char out[][IMG_MANIFEST_PERIPH_NAME_MAX + 1], size_t *ret_n,
                              struct rp_err *err)
{
        char f[80];
        size_t i;
        json_t *e;
        int r;

        if ((r = get_array(v, field, IMG_MANIFEST_MAX_PERIPH, err)) < 0)
                return r;
        json_array_foreach(v, i, e) {
                snprintf(f, sizeof(f), "%s[%zu]", field, i);
                if ((r = get_string(e, f, out[i], IMG_MANIFEST_PERIPH_NAME_MAX, err)) < 0)
                        return r;
                if (!valid_periph_name(out[i]))
                        return rp_err_set(err, -EINVAL,
                                          "manifest: field '%s' is '%s', not a peripheral name ([A-Za-z0-9_-])",
                                          f, out[i]);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(out[j], out[i]) == 0)
                                return rp_err_set(err, -EINVAL, "manifest: field '%s' is '%s', listed twice",
                                                  f, out[i]);
        }
        *ret_n = json_array_size(v);
        return 0;
}

static int parse_storage(const json_t *v, struct img_manifest *m, struct rp_err *err)
{
        const char *key;
        json_t *val;
        long long kb;
        int r;

        if (!json_is_object(v))
                return wrong_type(err, F_CAP "MutableStorage", v, "an object");
        json_object_foreach((json_t *)v, key, val) {
                if (strcmp(key, "SizeKB") != 0)
                        return rp_err_set(err, -EINVAL, "manifest: unknown field '" F_CAP "MutableStorage.%.60s'",
                                          key);
        }
        val = json_object_get(v, "SizeKB");
        if (!val)
                return rp_err_set(err, -EINVAL, "manifest: field '" F_CAP "MutableStorage.SizeKB' is missing");
        if (!json_is_integer(val))
                return wrong_type(err, F_CAP "MutableStorage.SizeKB", val, "an integer");
        kb = json_integer_value(val);
        if (kb > IMG_MANIFEST_MAX_STORAGE_KB)
                return rp_err_set(err, -EINVAL,
                                  "manifest: field '" F_CAP "MutableStorage.SizeKB' is %lld, the limit is %d",
                                  kb, IMG_MANIFEST_MAX_STORAGE_KB);
        if ((r = get_int(val, F_CAP "MutableStorage.SizeKB", IMG_MANIFEST_MIN_STORAGE_KB,
                         IMG_MANIFEST_MAX_STORAGE_KB, &kb, err)) < 0)
                return r;
        m->storage_kb = (uint32_t)kb;
        return 0;
}

static int parse_power(const json_t *v, struct img_manifest *m, struct rp_err *err)
{
        static const struct { const char *name; unsigned bit; } names[] = {
                { "ForceReboot", IMG_POWER_FORCE_REBOOT },
                { "ForcePowerDown", IMG_POWER_FORCE_POWER_DOWN },
                { "SetPowerProfile", IMG_POWER_SET_POWER_PROFILE },
        };
        char f[64], s[32];
        size_t i;
        json_t *e;
        int r;

        if ((r = get_array(v, F_CAP "PowerControls", 3, err)) < 0)
                return r;
        json_array_foreach(v, i, e) {
                unsigned bit = 0;
                snprintf(f, sizeof(f), F_CAP "PowerControls[%zu]", i);
                if ((r = get_string(e, f, s, sizeof(s) - 1, err)) < 0)
                        return r;
                for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
                        if (strcmp(s, names[k].name) == 0)
                                bit = names[k].bit;
                if (!bit)
                        return rp_err_set(err, -EINVAL,
                                          "manifest: field '%s' is '%s', expected ForceReboot, ForcePowerDown or SetPowerProfile",
                                          f, s);
                if (m->power_controls & bit)
                        return rp_err_set(err, -EINVAL, "manifest: field '%s' is '%s', listed twice", f, s);
                m->power_controls |= bit;
        }
        return 0;
}

static int parse_capabilities(const json_t *caps, struct img_manifest *m, struct rp_err *err)
{
        const char *key;
        json_t *v, *e;
        char f[96];
        size_t i;
        int r;

        if (!json_is_object(caps))
                return wrong_type(err, "Capabilities", caps, "an object");
        json_object_foreach((json_t *)caps, key, v) {
                if (strcmp(key, "AllowedConnections") == 0) {
                        if ((r = get_array(v, F_CAP "AllowedConnections", IMG_MANIFEST_MAX_CONNECTIONS, err)) < 0)
                                return r;
                        json_array_foreach(v, i, e) {
                                char s[IMG_MANIFEST_HOST_MAX + 16];
                                snprintf(f, sizeof(f), F_CAP "AllowedConnections[%zu]", i);
                                if ((r = get_string(e, f, s, sizeof(s) - 1, err)) < 0)
                                        return r;
                                if ((r = parse_conn(f, s, &m->conns[i], err)) < 0)
                                        return r;
                                for (size_t j = 0; j < i; j++)
                                        if (strcmp(m->conns[j].host, m->conns[i].host) == 0 &&
                                            m->conns[j].port == m->conns[i].port)
                                                return rp_err_set(err, -EINVAL,
                                                                  "manifest: field '%s' is '%s', listed twice", f, s);
                        }
                        m->n_conns = json_array_size(v);
                } else if (strcmp(key, "AllowedTcpServerPorts") == 0) {
                        if ((r = parse_ports(v, F_CAP "AllowedTcpServerPorts", m->tcp_ports, &m->n_tcp_ports, err)) < 0)
                                return r;
                } else if (strcmp(key, "AllowedUdpServerPorts") == 0) {
                        if ((r = parse_ports(v, F_CAP "AllowedUdpServerPorts", m->udp_ports, &m->n_udp_ports, err)) < 0)
                                return r;
                } else if (strcmp(key, "MutableStorage") == 0) {
                        if ((r = parse_storage(v, m, err)) < 0)
                                return r;
                } else if (strcmp(key, "DeviceAuthentication") == 0) {
                        if ((r = get_bool(v, F_CAP "DeviceAuthentication", &m->device_auth, err)) < 0)
                                return r;
                } else if (strcmp(key, "Gpio") == 0) {
                        if ((r = get_array(v, F_CAP "Gpio", IMG_MANIFEST_MAX_PERIPH, err)) < 0)
                                return r;
                        json_array_foreach(v, i, e) {
                                long long g;
                                snprintf(f, sizeof(f), F_CAP "Gpio[%zu]", i);
                                if ((r = get_int(e, f, 0, IMG_MANIFEST_MAX_GPIO, &g, err)) < 0)
                                        return r;
                                for (size_t j = 0; j < i; j++)
                                        if (m->gpio[j] == g)
                                                return rp_err_set(err, -EINVAL,
                                                                  "manifest: field '%s' is %lld, listed twice", f, g);
                                m->gpio[i] = (uint16_t)g;
                        }
                        m->n_gpio = json_array_size(v);
                } else if (strcmp(key, "Uart") == 0) {
                        if ((r = parse_periph_names(v, F_CAP "Uart", m->uart, &m->n_uart, err)) < 0)
                                return r;
                } else if (strcmp(key, "I2cMaster") == 0) {
                        if ((r = parse_periph_names(v, F_CAP "I2cMaster", m->i2c, &m->n_i2c, err)) < 0)
                                return r;
                } else if (strcmp(key, "SpiMaster") == 0) {
                        if ((r = parse_periph_names(v, F_CAP "SpiMaster", m->spi, &m->n_spi, err)) < 0)
                                return r;
                } else if (strcmp(key, "AllowedApplicationConnections") == 0) {
                        if ((r = get_array(v, F_CAP "AllowedApplicationConnections", IMG_MANIFEST_MAX_APP_CONN, err)) < 0)
                                return r;
                        json_array_foreach(v, i, e) {
                                snprintf(f, sizeof(f), F_CAP "AllowedApplicationConnections[%zu]", i);
                                char id[IMG_MANIFEST_ID_LEN + 9];
                                if ((r = get_string(e, f, id, sizeof(id) - 1, err)) < 0)
                                        return r;
                                if (!valid_uuid(id))
                                        return rp_err_set(err, -EINVAL,
                                                          "manifest: field '%s' is '%s', not a component id (UUID)",
                                                          f, id);
                                memcpy(m->app_conns[i], id, IMG_MANIFEST_ID_LEN + 1);
                                lower(m->app_conns[i]);
                        }
                        m->n_app_conns = json_array_size(v);
                } else if (strcmp(key, "SystemEventNotifications") == 0) {
                        if ((r = get_bool(v, F_CAP "SystemEventNotifications", &m->system_events, err)) < 0)
                                return r;
                } else if (strcmp(key, "SoftwareUpdateDeferral") == 0) {
                        if ((r = get_bool(v, F_CAP "SoftwareUpdateDeferral", &m->update_deferral, err)) < 0)
                                return r;
                } else if (strcmp(key, "PowerControls") == 0) {
                        if ((r = parse_power(v, m, err)) < 0)
                                return r;
                } else {
                        return rp_err_set(err, -EINVAL, "manifest: unknown field '" F_CAP "%.80s'", key);
                }
        }
        return 0;
}

static bool valid_entry_point(const char *p)
{
        /* absolute, no empty, "." or ".." components, portable characters */
        if (p[0] != '/' || p[1] == '\0')
                return false;
        for (const char *c = p; *c; c++) {
                if (!isalnum((unsigned char)*c) && !strchr("/._-+", *c))
                        return false;
                if (*c == '/') {
                        if (c[1] == '/' || c[1] == '\0')
                                return false;
                        if (c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
                                return false;
                        if (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0'))
                                return false;
                }
        }
        return true;
}

static bool valid_app_name(const char *s)
{
        if (!isalnum((unsigned char)s[0]))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
                        return false;
        return true;
}

int img_manifest_parse(const uint8_t *data, size_t len, struct img_manifest *ret,
                       struct rp_err *err)
{
        static const char *const required[] = { "SchemaVersion", "Name", "ComponentId", "EntryPoint" };
        struct img_manifest *m = NULL;
        json_error_t jerr;
        json_t *root = NULL, *v, *e;
        const char *key;
        long long sv;
        size_t i;
        int r;

        if (!data || !ret)
                return rp_err_set(err, -EINVAL, "manifest: no input");
        if (len > IMG_MANIFEST_MAX_SIZE) {
                r = rp_err_set(err, -E2BIG, "manifest: %zu bytes, the limit is %d", len,
                               IMG_MANIFEST_MAX_SIZE);
                goto out;
        }
        root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                r = rp_err_set(err, -EBADMSG, "manifest: not valid JSON at line %d column %d: %s",
                               jerr.line, jerr.column, jerr.text);
                goto out;
        }
        if (!json_is_object(root)) {
                r = wrong_type(err, "(top level)", root, "an object");
                goto out;
        }
        m = calloc(1, sizeof(*m));
        if (!m) {
                r = rp_err_set(err, -ENOMEM, "manifest: out of memory");
                goto out;
        }
        for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
                if (!json_object_get(root, required[i])) {
                        r = rp_err_set(err, -EINVAL, "manifest: field '%s' is missing", required[i]);
                        goto out;
                }
        json_object_foreach(root, key, v) {
                if (strcmp(key, "SchemaVersion") == 0) {
                        if ((r = get_int(v, "SchemaVersion", IMG_MANIFEST_SCHEMA_VERSION,
                                         IMG_MANIFEST_SCHEMA_VERSION, &sv, err)) < 0)
                                goto out;
                        m->schema_version = (int)sv;
                } else if (strcmp(key, "Name") == 0) {
                        if ((r = get_string(v, "Name", m->name, IMG_MANIFEST_NAME_MAX, err)) < 0)
                                goto out;
                        if (!valid_app_name(m->name)) {
                                r = rp_err_set(err, -EINVAL,
                                               "manifest: field 'Name' is '%s', allowed are letters, digits and ._- (starting with a letter or digit)",
                                               m->name);
                                goto out;
                        }
                } else if (strcmp(key, "ComponentId") == 0) {
                        char id[IMG_MANIFEST_ID_LEN + 9];
                        if ((r = get_string(v, "ComponentId", id, sizeof(id) - 1, err)) < 0)
                                goto out;
                        if (!valid_uuid(id)) {
                                r = rp_err_set(err, -EINVAL, "manifest: field 'ComponentId' is '%s', not a UUID", id);
                                goto out;
                        }
                        memcpy(m->component_id, id, IMG_MANIFEST_ID_LEN + 1);
                        lower(m->component_id);
                } else if (strcmp(key, "EntryPoint") == 0) {
                        if ((r = get_string(v, "EntryPoint", m->entry_point, IMG_MANIFEST_PATH_MAX, err)) < 0)
                                goto out;
                        if (!valid_entry_point(m->entry_point)) {
                                r = rp_err_set(err, -EINVAL,
                                               "manifest: field 'EntryPoint' is '%s', not an absolute path inside the image",
                                               m->entry_point);
                                goto out;
                        }
                } else if (strcmp(key, "CmdArgs") == 0) {
                        if ((r = get_array(v, "CmdArgs", IMG_MANIFEST_MAX_ARGS, err)) < 0)
                                goto out;
                        json_array_foreach(v, i, e) {
                                char f[32];
                                snprintf(f, sizeof(f), "CmdArgs[%zu]", i);
                                if (json_is_string(e) && json_string_length(e) == 0) {
                                        m->args[i][0] = '\0';
                                        continue;
                                }
                                if ((r = get_string(e, f, m->args[i], IMG_MANIFEST_ARG_MAX, err)) < 0)
                                        goto out;
                        }
                        m->n_args = json_array_size(v);
                } else if (strcmp(key, "Capabilities") == 0) {
                        if ((r = parse_capabilities(v, m, err)) < 0)
                                goto out;
                } else {
                        r = rp_err_set(err, -EINVAL, "manifest: unknown field '%.80s'", key);
                        goto out;
                }
        }
        memcpy(ret, m, sizeof(*m));
        r = 0;
out:
        free(m);
        json_decref(root);
        return r;
}

static const struct img_manifest *find_owner_str(const struct img_manifest *m,
                                                 const struct img_manifest *const *inst, size_t n,
                                                 size_t off, size_t count_off, const char *name)
{
        for (size_t k = 0; k < n; k++) {
                const struct img_manifest *o = inst[k];
                if (!o || strcmp(o->component_id, m->component_id) == 0)
                        continue;
                const char (*list)[IMG_MANIFEST_PERIPH_NAME_MAX + 1] = (const void *)((const char *)o + off);
                size_t cnt = *(const size_t *)(const void *)((const char *)o + count_off);
                for (size_t j = 0; j < cnt; j++)
                        if (strcmp(list[j], name) == 0)
                                return o;
        }
        return NULL;
}

static const struct img_manifest *find_owner_u16(const struct img_manifest *m,
                                                 const struct img_manifest *const *inst, size_t n,
                                                 size_t off, size_t count_off, uint16_t val)
{
        for (size_t k = 0; k < n; k++) {
                const struct img_manifest *o = inst[k];
                if (!o || strcmp(o->component_id, m->component_id) == 0)
                        continue;
                const uint16_t *list = (const void *)((const char *)o + off);
                size_t cnt = *(const size_t *)(const void *)((const char *)o + count_off);
                for (size_t j = 0; j < cnt; j++)
                        if (list[j] == val)
                                return o;
        }
        return NULL;
}

int img_manifest_check_conflicts(const struct img_manifest *m,
                                 const struct img_manifest *const *installed, size_t n,
                                 struct rp_err *err)
{
        static const struct {
                const char *field;
                size_t off, count_off;
        } names[] = {
                { "Uart", offsetof(struct img_manifest, uart), offsetof(struct img_manifest, n_uart) },
                { "I2cMaster", offsetof(struct img_manifest, i2c), offsetof(struct img_manifest, n_i2c) },
                { "SpiMaster", offsetof(struct img_manifest, spi), offsetof(struct img_manifest, n_spi) },
        };
        static const struct {
                const char *field;
                size_t off, count_off;
        } nums[] = {
                { "Gpio", offsetof(struct img_manifest, gpio), offsetof(struct img_manifest, n_gpio) },
                { "AllowedTcpServerPorts", offsetof(struct img_manifest, tcp_ports),
                  offsetof(struct img_manifest, n_tcp_ports) },
                { "AllowedUdpServerPorts", offsetof(struct img_manifest, udp_ports),
                  offsetof(struct img_manifest, n_udp_ports) },
        };
        const struct img_manifest *o;

        for (size_t t = 0; t < sizeof(names) / sizeof(names[0]); t++) {
                const char (*list)[IMG_MANIFEST_PERIPH_NAME_MAX + 1] =
                        (const void *)((const char *)m + names[t].off);
                size_t cnt = *(const size_t *)(const void *)((const char *)m + names[t].count_off);
                for (size_t j = 0; j < cnt; j++)
                        if ((o = find_owner_str(m, installed, n, names[t].off, names[t].count_off, list[j])))
                                return rp_err_set(err, -EBUSY,
                                                  "manifest: field '" F_CAP "%s[%zu]' is '%s', already owned by app '%s' (%s)",
                                                  names[t].field, j, list[j], o->name, o->component_id);
        }
        for (size_t t = 0; t < sizeof(nums) / sizeof(nums[0]); t++) {
                const uint16_t *list = (const void *)((const char *)m + nums[t].off);
                size_t cnt = *(const size_t *)(const void *)((const char *)m + nums[t].count_off);
                for (size_t j = 0; j < cnt; j++)
                        if ((o = find_owner_u16(m, installed, n, nums[t].off, nums[t].count_off, list[j])))
                                return rp_err_set(err, -EBUSY,
                                                  "manifest: field '" F_CAP "%s[%zu]' is %u, already owned by app '%s' (%s)",
                                                  nums[t].field, j, list[j], o->name, o->component_id);
        }
        return 0;
}
