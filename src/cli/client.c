/* client.c - the CLI's HTTPS client for rampart-server (see client.h):
 * configuration file, libcurl requests with the server's public key pinned
 * (or a CA), error reporting and output formatting. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"
#include "lib/wipe.h"

#define CLI_CONNECT_TIMEOUT 10L
#define CLI_REQUEST_TIMEOUT 120L

/* ---- configuration ---- */

void cli_config_free(struct cli_config *c)
{
        if (c->token)
                rp_wipe(c->token, strlen(c->token));
        free(c->server);
        free(c->token);
        free(c->pin);
        free(c->fingerprint);
        free(c->ca_file);
        memset(c, 0, sizeof(*c));
}

char *cli_config_path(void)
{
        const char *over = getenv("RAMPART_CONFIG");
        char *p = NULL;
        if (over && *over)
                return strdup(over);
        const char *x = getenv("XDG_CONFIG_HOME");
        if (x && *x == '/') {
                if (asprintf(&p, "%s/rampart/config.json", x) < 0)
                        return NULL;
                return p;
        }
        const char *home = getenv("HOME");
        if (!home || !*home)
                return NULL;
        if (asprintf(&p, "%s/.config/rampart/config.json", home) < 0)
                return NULL;
        return p;
}

static char *jstr(json_t *o, const char *k)
{
        const char *v = json_string_value(json_object_get(o, k));
        return v ? strdup(v) : NULL;
}

int cli_config_load(struct cli_config *ret, struct rp_err *err)
{
        _cleanup_free_ char *path = cli_config_path();
        if (!path)
                return rp_err_set(err, -ENOENT, "cannot find the config directory (set HOME or XDG_CONFIG_HOME)");
        uint8_t *data = NULL;
        size_t len = 0;
        int r = rp_read_file(path, CLI_CONFIG_MAX, &data, &len, err);
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "not logged in ('%s' does not exist): run 'rampart login --server URL --token TOKEN'", path);
        if (r < 0)
                return r;
        json_error_t je;
        json_t *j = json_loadb((const char *)data, len, 0, &je);
        rp_wipe(data, len);
        free(data);
        if (!j || !json_is_object(j)) {
                json_decref(j);
                return rp_err_set(err, -EINVAL, "config '%s' is not a JSON object: %s", path, je.text);
        }
        struct cli_config c = {
                .server = jstr(j, "server"), .token = jstr(j, "token"), .pin = jstr(j, "pin"),
                .fingerprint = jstr(j, "fingerprint"), .ca_file = jstr(j, "ca_file"),
        };
        json_t *tok = json_object_get(j, "token");
        if (tok)
                json_string_set(tok, "");
        json_decref(j);
        if (!c.server || !c.token || (!c.pin && !c.ca_file)) {
                cli_config_free(&c);
                return rp_err_set(err, -EINVAL, "config '%s' lacks server, token or pin/ca_file: run 'rampart login' again", path);
        }
        *ret = c;
        return 0;
}

int cli_config_save(const struct cli_config *c, struct rp_err *err)
{
        _cleanup_free_ char *path = cli_config_path();
        if (!path)
                return rp_err_set(err, -ENOENT, "cannot find the config directory (set HOME or XDG_CONFIG_HOME)");
        char *slash = strrchr(path, '/');
        if (slash && slash != path) {
                *slash = 0;
                int r = rp_mkdir_p(path, 0700);
                if (r < 0)
                        return rp_err_set(err, r, "creating '%s': %s", path, strerror(-r));
                *slash = '/';
        }
        json_t *j = json_object();
        json_object_set_new(j, "server", json_string(c->server));
        json_object_set_new(j, "token", json_string(c->token));
        if (c->pin)
                json_object_set_new(j, "pin", json_string(c->pin));
        if (c->fingerprint)
                json_object_set_new(j, "fingerprint", json_string(c->fingerprint));
        if (c->ca_file)
                json_object_set_new(j, "ca_file", json_string(c->ca_file));
        char *txt = json_dumps(j, JSON_INDENT(2));
        json_decref(j);
        if (!txt)
                return rp_err_set(err, -ENOMEM, "out of memory");
        size_t n = strlen(txt);
        int r = rp_write_file_atomic(path, txt, n, 0600, err);
        rp_wipe(txt, n);
        free(txt);
        return r;
}

/* ---- HTTP ---- */

struct sink {
        struct rp_buf b;
        bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
        struct sink *s = arg;
        size_t len = size * n;
        if (rp_buf_append(&s->b, p, len) < 0) {
                s->too_big = true;
                return 0;
        }
        return len;
}

static int curl_fail(CURLcode rc, const char *url, const char *detail, struct rp_err *err)
{
        const char *why = detail && *detail ? detail : curl_easy_strerror(rc);
        switch (rc) {
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return rp_err_set(err, -EPERM,
                                  "the server at %s presented a certificate whose key does not match "
                                  "the one pinned at login (possible interception, or the server's "
                                  "certificate changed: check it and run 'rampart login' again)", url);
        case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
        case CURLE_SSL_CACERT:
#endif
                return rp_err_set(err, -EPERM, "the server certificate at %s did not verify: %s", url,
                                  why);
        default:
                return rp_err_set(err, -EHOSTUNREACH, "cannot reach the server at %s: %s", url, why);
        }
}

static CURL *easy_new(const char *url, char *errbuf)
{
        CURL *h = curl_easy_init();
        if (!h)
                return NULL;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CLI_CONNECT_TIMEOUT);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, CLI_REQUEST_TIMEOUT);
        curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
#else
        curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        return h;
}

int cli_http(const struct cli_config *c, const char *method, const char *path, json_t *body,
             long *ret_status, json_t **ret_json, struct rp_err *err)
{
        if (strncmp(c->server, "https://", 8))
                return rp_err_set(err, -EINVAL, "server URL '%s' must start with https://", c->server);
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "%s%s", c->server, path) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *h = easy_new(url, errbuf);
        if (!h)
                return rp_err_set(err, -ENOMEM, "cannot start an HTTP client");
        struct curl_slist *hdr = NULL;
        char *auth = NULL;
        if (asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
                curl_easy_cleanup(h);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        hdr = curl_slist_append(hdr, auth);
        rp_wipe(auth, strlen(auth));
        free(auth);
        hdr = curl_slist_append(hdr, "Accept: application/json");
        char *txt = NULL;
        if (body) {
                txt = json_dumps(body, JSON_COMPACT);
                hdr = curl_slist_append(hdr, "Content-Type: application/json");
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, txt ? txt : "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(txt ? strlen(txt) : 0));
        }
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (!strcmp(method, "GET"))
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        if (c->pin) {
                /* Self-signed server: no chain to verify; the key pin is the
                 * check, done by curl during the handshake, before the
                 * request (and its token) is sent. */
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
                curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->pin);
        } else {
                curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        }
        struct sink s = {.b = {.max = CLI_RESPONSE_MAX}};
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdr);
        curl_easy_cleanup(h);
        free(txt);
        int r = 0;
        if (s.too_big)
                r = rp_err_set(err, -EFBIG, "reply from %s is larger than %d bytes", url, CLI_RESPONSE_MAX);
        else if (rc != CURLE_OK)
                r = curl_fail(rc, c->server, errbuf, err);
        if (r < 0) {
                rp_buf_free(&s.b);
                return r;
        }
        json_t *j = NULL;
        if (s.b.len)
                j = json_loadb((const char *)s.b.data, s.b.len, 0, NULL);
        rp_buf_free(&s.b);
        *ret_status = status;
        *ret_json = j;
        return 0;
}

int cli_api(const char *method, const char *path, json_t *body, json_t **ret)
{
        struct cli_config c = {0};
        struct rp_err err = {0};
        if (cli_config_load(&c, &err) < 0)
                return cli_errorf(CLI_EXIT_FAIL, "%s", err.msg);
        long status = 0;
        json_t *j = NULL;
        int r = cli_http(&c, method, path, body, &status, &j, &err);
        cli_config_free(&c);
        if (r < 0)
                return cli_errorf(CLI_EXIT_UNREACHABLE, "%s", err.msg);
        if (status < 200 || status > 299) {
                json_t *e = json_object_get(j, "error");
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *msg = json_string_value(json_object_get(e, "message"));
                cli_errorf(CLI_EXIT_FAIL, "%ld %s: %s", status, code ? code : "error",
                           msg ? msg : "the server refused the request");
                json_decref(j);
                return CLI_EXIT_FAIL;
        }
        if (ret)
                *ret = j;
        else
                json_decref(j);
        return CLI_EXIT_OK;
}

/* Standard base64 (curl's pin format) from our base64url encoder. */
static void b64_std(const uint8_t *in, size_t n, char *out)
{
        rp_b64url_encode(in, n, out);
        size_t l = strlen(out);
        for (size_t i = 0; i < l; i++)
                out[i] = out[i] == '-' ? '+' : out[i] == '_' ? '/' : out[i];
        while (l % 4)
                out[l++] = '=';
        out[l] = 0;
}

int cli_probe_server(const char *url, const char *ca_file, char **ret_fpr, char **ret_pin,
                     struct rp_err *err)
{
        _cleanup_free_ char *u = NULL;
        if (asprintf(&u, "%s/healthz", url) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *h = easy_new(u, errbuf);
        if (!h)
                return rp_err_set(err, -ENOMEM, "cannot start an HTTP client");
        if (ca_file) {
                curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
        } else {
                /* Trust on first use: fetch the certificate, nothing is sent
                 * but a GET of /healthz. */
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
        struct sink s = {.b = {.max = 64 * 1024}};
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        CURLcode rc = curl_easy_perform(h);
        rp_buf_free(&s.b);
        if (rc != CURLE_OK) {
                curl_easy_cleanup(h);
                return curl_fail(rc, url, errbuf, err);
        }
        struct curl_certinfo *ci = NULL;
        const char *pem = NULL;
        if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci && ci->num_of_certs > 0)
                for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next)
                        if (!strncmp(l->data, "Cert:", 5))
                                pem = l->data + 5;
        int r;
        struct cr_cert *cert = NULL;
        struct cr_key *pub = NULL;
        uint8_t *der = NULL;
        size_t der_len = 0;
        uint8_t fp[CR_SHA256_LEN], kh[CR_SHA256_LEN];
        if (!pem) {
                r = rp_err_set(err, -EPROTO, "the server at %s sent no certificate", url);
                goto out;
        }
        if ((r = cr_cert_from_pem(pem, strlen(pem), &cert, err)) < 0)
                goto out;
        if ((r = cr_cert_fingerprint(cert, fp)) < 0 || (r = cr_cert_pubkey(cert, &pub)) < 0 ||
            (r = cr_key_pub_to_der(pub, &der, &der_len)) < 0) {
                r = rp_err_set(err, r, "cannot read the server's certificate");
                goto out;
        }
        cr_sha256(der, der_len, kh);
        char *fpr = malloc(CR_SHA256_LEN * 3), *pin = malloc(8 + 45);
        if (!fpr || !pin) {
                free(fpr);
                free(pin);
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < CR_SHA256_LEN; i++)
                snprintf(fpr + 3 * i, CR_SHA256_LEN * 3 - 3 * i, i + 1 < CR_SHA256_LEN ? "%02X:" : "%02X", fp[i]);
        memcpy(pin, "sha256//", 8);
        b64_std(kh, sizeof(kh), pin + 8);
        *ret_fpr = fpr;
        *ret_pin = pin;
        r = 0;
out:
        free(der);
        cr_key_free(pub);
        cr_cert_free(cert);
        curl_easy_cleanup(h);
        return r;
}

/* ---- output ---- */

int cli_output_parse(const char *s, enum cli_output *ret)
{
        if (!strcmp(s, "table"))
                *ret = CLI_OUT_TABLE;
        else if (!strcmp(s, "json"))
                *ret = CLI_OUT_JSON;
        else
                return cli_errorf(CLI_EXIT_USAGE, "--output must be 'table' or 'json' (got '%s')", s);
        return CLI_EXIT_OK;
}

static json_t *dig(json_t *o, const char *key)
{
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", key);
        char *save = NULL;
        for (char *p = strtok_r(buf, ".", &save); p && o; p = strtok_r(NULL, ".", &save))
                o = json_object_get(o, p);
        return o;
}

/* Text of a scalar, with control characters replaced so that a value
 * cannot rewrite the operator's terminal. */
static void cell(json_t *v, char *out, size_t n)
{
        if (!v || json_is_null(v))
                snprintf(out, n, "-");
        else if (json_is_string(v))
                snprintf(out, n, "%s", json_string_value(v));
        else if (json_is_integer(v))
                snprintf(out, n, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
                snprintf(out, n, "%g", json_real_value(v));
        else if (json_is_boolean(v))
                snprintf(out, n, "%s", json_is_true(v) ? "yes" : "no");
        else {
                char *t = json_dumps(v, JSON_COMPACT);
                snprintf(out, n, "%s", t ? t : "?");
                free(t);
        }
        for (unsigned char *p = (unsigned char *)out; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        *p = '?';
}

static size_t width(const char *s)
{
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        w++;
        return w;
}

#define CELL_MAX 256

void cli_print_table(FILE *f, json_t *items, const struct cli_column *cols, size_t n)
{
        size_t rows = json_array_size(items);
        size_t *w = calloc(n, sizeof(*w));
        if (!w)
                return;
        char c[CELL_MAX];
        for (size_t k = 0; k < n; k++)
                w[k] = width(cols[k].title);
        for (size_t i = 0; i < rows; i++)
                for (size_t k = 0; k < n; k++) {
                        cell(dig(json_array_get(items, i), cols[k].key), c, sizeof(c));
                        if (width(c) > w[k])
                                w[k] = width(c);
                }
        for (size_t k = 0; k < n; k++)
                fprintf(f, "%s%-*s", k ? "  " : "", k + 1 < n ? (int)w[k] : 0, cols[k].title);
        fputc('\n', f);
        for (size_t i = 0; i < rows; i++) {
                for (size_t k = 0; k < n; k++) {
                        cell(dig(json_array_get(items, i), cols[k].key), c, sizeof(c));
                        size_t pad = k + 1 < n ? w[k] - width(c) : 0;
                        fprintf(f, "%s%s%*s", k ? "  " : "", c, (int)pad, "");
                }
                fputc('\n', f);
        }
        free(w);
}

void cli_print_object(FILE *f, json_t *obj, const struct cli_column *cols, size_t n)
{
        size_t w = 0;
        for (size_t k = 0; k < n; k++)
                if (width(cols[k].title) > w)
                        w = width(cols[k].title);
        char c[CELL_MAX];
        for (size_t k = 0; k < n; k++) {
                cell(dig(obj, cols[k].key), c, sizeof(c));
                fprintf(f, "%-*s  %s\n", (int)w + 1, cols[k].title, c);
        }
}

void cli_print_json(FILE *f, json_t *j)
{
        json_dumpf(j, f, JSON_INDENT(2));
        fputc('\n', f);
}

char *cli_path_query(const char *path, const char *const *kv, size_t n_kv)
{
        struct rp_buf b = {.max = 8192};
        if (rp_buf_append(&b, path, strlen(path)) < 0)
                goto fail;
        char sep = strchr(path, '?') ? '&' : '?';
        for (size_t i = 0; i + 1 < n_kv; i += 2) {
                if (!kv[i + 1])
                        continue;
                char *e = curl_easy_escape(NULL, kv[i + 1], 0);
                if (!e)
                        goto fail;
                int r = rp_buf_printf(&b, "%c%s=%s", sep, kv[i], e);
                curl_free(e);
                if (r < 0)
                        goto fail;
                sep = '&';
        }
        if (rp_buf_terminate(&b) < 0)
                goto fail;
        return (char *)rp_buf_steal(&b, NULL);
fail:
        rp_buf_free(&b);
        return NULL;
}

int cli_list(const char *path, const char *const *kv, size_t n_kv, const char *limit,
             const char *cursor, bool all, enum cli_output out, const struct cli_column *cols,
             size_t n_cols)
{
        json_t *items = json_array();
        _cleanup_free_ char *cur = cursor ? strdup(cursor) : NULL;
        int rc = CLI_EXIT_OK;
        for (int page = 0; page < 100000; page++) {
                const char *q[16];
                size_t n = 0;
                q[n++] = "limit";
                q[n++] = limit;
                q[n++] = "cursor";
                q[n++] = cur;
                for (size_t i = 0; i < n_kv && n < 16; i++)
                        q[n++] = kv[i];
                _cleanup_free_ char *p = cli_path_query(path, q, n);
                if (!p) {
                        rc = cli_errorf(CLI_EXIT_FAIL, "out of memory");
                        break;
                }
                json_t *j = NULL;
                rc = cli_api("GET", p, NULL, &j);
                if (rc != CLI_EXIT_OK)
                        break;
                json_array_extend(items, json_object_get(j, "items"));
                const char *next = json_string_value(json_object_get(j, "next_cursor"));
                free(cur);
                cur = next ? strdup(next) : NULL;
                json_decref(j);
                if (!cur || !all)
                        break;
        }
        if (rc == CLI_EXIT_OK) {
                if (out == CLI_OUT_JSON) {
                        json_t *o = json_pack("{s:O,s:o}", "items", items, "next_cursor",
                                              cur ? json_string(cur) : json_null());
                        cli_print_json(stdout, o);
                        json_decref(o);
                } else {
                        cli_print_table(stdout, items, cols, n_cols);
                        if (cur)
                                fprintf(stderr, "(more: --cursor %s, or --all)\n", cur);
                }
        }
        json_decref(items);
        return rc;
}

char *cli_path_id(const char *prefix, const char *id, const char *suffix)
{
        char *e = curl_easy_escape(NULL, id, 0), *p = NULL;
        if (!e)
                return NULL;
        if (asprintf(&p, "%s/%s%s", prefix, e, suffix ? suffix : "") < 0)
                p = NULL;
        curl_free(e);
        return p;
}
