/* meta.c - the image metadata: checking pack options, writing the canonical
 * JSON, and the strict parser that verification runs on signed bytes only.
 * Pure (jansson for JSON; no I/O). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "image/image.h"
#include "image/internal.h"
#include "lib/encode.h"

static bool in_set(char c, const char *extra)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr(extra, c));
}

/* 1..max chars of [A-Za-z0-9] + extra. */
static int check_token(const char *what, const char *s, size_t max, const char *extra,
                       struct rp_err *err)
{
        size_t n;

        if (!s || !*s)
                return rp_err_set(err, -EINVAL, "%s is empty", what);
        n = strnlen(s, max + 1);
        if (n > max)
                return rp_err_set(err, -EINVAL, "%s is longer than %zu characters", what, max);
        for (size_t i = 0; i < n; i++)
                if (!in_set(s[i], extra))
                        return rp_err_set(err, -EINVAL,
                                          "%s '%s' has character 0x%02x; allowed are letters, digits and '%s'",
                                          what, s, (unsigned char)s[i], extra);
        return 0;
}

#define NAME_EXTRA "._-"
#define VERSION_EXTRA ".+~_-"
#define HW_EXTRA "._:-"

static void format_time(int64_t t, char out[32])
{
        struct tm tm;
        time_t tt = (time_t)t;

        if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
                out[0] = '\0';
}

/* Accepts exactly the canonical form format_time writes. */
static int parse_time(const char *s, int64_t *ret)
{
        struct tm tm = {0};
        char back[32];
        time_t t;
        int n = 0;

        if (strlen(s) != 20)
                return -EINVAL;
        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 20)
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        t = timegm(&tm);
        if (t < 0 || (int64_t)t > IMG_MAX_CREATED)
                return -EINVAL;
        format_time(t, back);
        if (strcmp(back, s) != 0)
                return -EINVAL;
        *ret = t;
        return 0;
}

int img_opts_check(const struct img_pack_opts *o, struct img_header *ret_hdr,
                   struct img_meta *ret_meta, struct rp_err *err)
{
        struct img_header h = {0};
        struct img_meta m = {0};
        int r;

        if (!o->component_id || img_uuid_parse(o->component_id, h.component_id) < 0)
                return rp_err_set(err, -EINVAL,
                                  "component id '%s' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                                  o->component_id ? o->component_id : "");
        img_uuid_format(h.component_id, m.component_id);
        r = check_token("image name", o->name, IMG_MAX_NAME, NAME_EXTRA, err);
        if (r < 0)
                return r;
        r = check_token("image version", o->version, IMG_MAX_VERSION, VERSION_EXTRA, err);
        if (r < 0)
                return r;
        if (!img_type_name(o->type))
                return rp_err_set(err, -EINVAL, "image type %d is neither os nor app", (int)o->type);
        if (o->created < 0 || o->created > IMG_MAX_CREATED)
                return rp_err_set(err, -EINVAL, "creation time %lld is out of range",
                                  (long long)o->created);
        if (o->n_hw_compat > IMG_MAX_HW_COMPAT)
                return rp_err_set(err, -E2BIG, "%zu hardware compatibility ids, the limit is %d",
                                  o->n_hw_compat, IMG_MAX_HW_COMPAT);
        for (size_t i = 0; i < o->n_hw_compat; i++) {
                r = check_token("hardware compatibility id", o->hw_compat[i], IMG_MAX_HW_ID,
                                HW_EXTRA, err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(o->hw_compat[i], o->hw_compat[j]))
                                return rp_err_set(err, -EINVAL,
                                                  "hardware compatibility id '%s' is given twice",
                                                  o->hw_compat[i]);
                strcpy(m.hw_compat[i], o->hw_compat[i]);
        }
        m.n_hw_compat = o->n_hw_compat;
        strcpy(m.name, o->name);
        strcpy(m.version, o->version);
        m.type = o->type;
        m.svn = o->svn;
        m.created = o->created;

        h.format_version = IMG_FORMAT_VERSION;
        h.header_len = IMG_HEADER_LEN;
        h.flags = 0;
        h.svn = o->svn;
        h.type = (uint8_t)o->type;
        h.created = (uint64_t)o->created;
        *ret_hdr = h;
        *ret_meta = m;
        return 0;
}

int img_meta_encode(const struct img_meta *m, char **ret, size_t *ret_len, struct rp_err *err)
{
        char sha[2 * CR_SHA256_LEN + 1], created[32];
        json_t *root = NULL, *hw = NULL;
        char *s = NULL;
        size_t n;
        int r = -ENOMEM;

        rp_hex_encode(m->payload_sha256, CR_SHA256_LEN, sha);
        format_time(m->created, created);
        hw = json_array();
        if (!hw)
                goto out;
        for (size_t i = 0; i < m->n_hw_compat; i++)
                if (json_array_append_new(hw, json_string(m->hw_compat[i])) < 0)
                        goto out;
        root = json_pack("{s:s, s:s, s:s, s:s, s:I, s:{s:I, s:s}, s:O, s:s}",
                         "component_id", m->component_id, "name", m->name, "type",
                         img_type_name(m->type), "version", m->version, "svn", (json_int_t)m->svn,
                         "payload", "length", (json_int_t)m->payload_len, "sha256", sha,
                         "hw_compat", hw, "created", created);
        if (!root)
                goto out;
        s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        if (!s)
                goto out;
        n = strlen(s);
        if (n > IMG_MAX_METADATA) {
                r = rp_err_set(err, -EFBIG, "image metadata would be %zu bytes, the limit is %d", n,
                               IMG_MAX_METADATA);
                free(s);
                goto out;
        }
        *ret = s;
        *ret_len = n;
        r = 0;
out:
        if (r == -ENOMEM)
                rp_err_set(err, r, "out of memory encoding image metadata");
        json_decref(root);
        json_decref(hw);
        return r;
}

static const char *const known_fields[] = {
        "component_id", "name", "type", "version", "svn", "payload", "hw_compat", "created",
};

static int get_string(json_t *root, const char *key, const char **ret, struct rp_err *err)
{
        json_t *v = json_object_get(root, key);
        if (!v)
                return rp_err_set(err, -EBADMSG, "image metadata lacks field '%s'", key);
        if (!json_is_string(v))
                return rp_err_set(err, -EBADMSG, "image metadata field '%s' is not a string", key);
        *ret = json_string_value(v);
        return 0;
}

static int get_uint(json_t *obj, const char *where, const char *key, uint64_t max,
                    uint64_t *ret, struct rp_err *err)
{
        json_t *v = json_object_get(obj, key);
        json_int_t i;

        if (!v)
                return rp_err_set(err, -EBADMSG, "image metadata lacks field '%s%s'", where, key);
        if (!json_is_integer(v))
                return rp_err_set(err, -EBADMSG, "image metadata field '%s%s' is not an integer",
                                  where, key);
        i = json_integer_value(v);
        if (i < 0 || (uint64_t)i > max)
                return rp_err_set(err, -EBADMSG,
                                  "image metadata field '%s%s' is %lld, allowed is 0..%llu", where,
                                  key, (long long)i, (unsigned long long)max);
        *ret = (uint64_t)i;
        return 0;
}

static int decode_fields(const struct img_header *hdr, json_t *root, struct img_meta *m,
                         struct rp_err *err)
{
        const char *key, *s;
        json_t *v, *payload, *hw;
        uint8_t uuid[16];
        uint64_t u;
        size_t i;
        int r;

        if (!json_is_object(root))
                return rp_err_set(err, -EBADMSG, "image metadata is not a JSON object");
        json_object_foreach(root, key, v) {
                bool known = false;
                for (i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++)
                        known |= !strcmp(key, known_fields[i]);
                if (!known)
                        return rp_err_set(err, -EBADMSG, "image metadata has unknown field '%.64s'",
                                          key);
        }

        if ((r = get_string(root, "component_id", &s, err)) < 0)
                return r;
        if (img_uuid_parse(s, uuid) < 0)
                return rp_err_set(err, -EBADMSG, "image metadata component_id '%.40s' is not a UUID",
                                  s);
        img_uuid_format(uuid, m->component_id);
        if (strcmp(s, m->component_id) != 0)
                return rp_err_set(err, -EBADMSG,
                                  "image metadata component_id '%s' is not in canonical lowercase form",
                                  s);
        if (memcmp(uuid, hdr->component_id, 16) != 0)
                return rp_err_set(err, -EBADMSG,
                                  "image metadata component_id %s differs from the header's", s);

        if ((r = get_string(root, "name", &s, err)) < 0)
                return r;
        if ((r = check_token("image metadata name", s, IMG_MAX_NAME, NAME_EXTRA, err)) < 0)
                return r;
        strcpy(m->name, s);

        if ((r = get_string(root, "type", &s, err)) < 0)
                return r;
        if (img_type_parse(s, &m->type) < 0)
                return rp_err_set(err, -EBADMSG, "image metadata type '%.32s' is neither os nor app",
                                  s);
        if ((uint8_t)m->type != hdr->type)
                return rp_err_set(err, -EBADMSG, "image metadata type '%s' differs from the header's",
                                  s);

        if ((r = get_string(root, "version", &s, err)) < 0)
                return r;
        if ((r = check_token("image metadata version", s, IMG_MAX_VERSION, VERSION_EXTRA, err)) < 0)
                return r;
        strcpy(m->version, s);

        if ((r = get_uint(root, "", "svn", UINT32_MAX, &u, err)) < 0)
                return r;
        if (u != hdr->svn)
                return rp_err_set(err, -EBADMSG, "image metadata svn %llu differs from the header's %u",
                                  (unsigned long long)u, hdr->svn);
        m->svn = (uint32_t)u;

        payload = json_object_get(root, "payload");
        if (!json_is_object(payload))
                return rp_err_set(err, -EBADMSG, "image metadata field 'payload' is missing or not an object");
        if (json_object_size(payload) != 2)
                return rp_err_set(err, -EBADMSG,
                                  "image metadata 'payload' must have exactly 'length' and 'sha256'");
        if ((r = get_uint(payload, "payload.", "length", IMG_MAX_PAYLOAD, &u, err)) < 0)
                return r;
        if (u != hdr->payload_len)
                return rp_err_set(err, -EBADMSG,
                                  "image metadata payload length %llu differs from the header's %llu",
                                  (unsigned long long)u, (unsigned long long)hdr->payload_len);
        m->payload_len = u;
        if ((r = get_string(payload, "sha256", &s, err)) < 0)
                return r;
        if (strlen(s) != 2 * CR_SHA256_LEN || rp_hex_decode(s, m->payload_sha256, CR_SHA256_LEN) < 0)
                return rp_err_set(err, -EBADMSG, "image metadata payload.sha256 is not 64 hex digits");
        {
                char canon[2 * CR_SHA256_LEN + 1];
                rp_hex_encode(m->payload_sha256, CR_SHA256_LEN, canon);
                if (strcmp(canon, s) != 0)
                        return rp_err_set(err, -EBADMSG,
                                          "image metadata payload.sha256 is not lowercase hex");
        }
        if (memcmp(m->payload_sha256, hdr->payload_sha256, CR_SHA256_LEN) != 0)
                return rp_err_set(err, -EBADMSG,
                                  "image metadata payload.sha256 differs from the header's");

        hw = json_object_get(root, "hw_compat");
        if (!json_is_array(hw))
                return rp_err_set(err, -EBADMSG, "image metadata field 'hw_compat' is missing or not an array");
        if (json_array_size(hw) > IMG_MAX_HW_COMPAT)
                return rp_err_set(err, -EBADMSG, "image metadata has %zu hw_compat ids, the limit is %d",
                                  json_array_size(hw), IMG_MAX_HW_COMPAT);
        json_array_foreach(hw, i, v) {
                if (!json_is_string(v))
                        return rp_err_set(err, -EBADMSG, "image metadata hw_compat[%zu] is not a string", i);
                s = json_string_value(v);
                if ((r = check_token("image metadata hw_compat id", s, IMG_MAX_HW_ID, HW_EXTRA, err)) < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(m->hw_compat[j], s))
                                return rp_err_set(err, -EBADMSG,
                                                  "image metadata hw_compat id '%s' appears twice", s);
                strcpy(m->hw_compat[i], s);
        }
        m->n_hw_compat = json_array_size(hw);

        if ((r = get_string(root, "created", &s, err)) < 0)
                return r;
        if (parse_time(s, &m->created) < 0)
                return rp_err_set(err, -EBADMSG,
                                  "image metadata created '%.40s' is not YYYY-MM-DDTHH:MM:SSZ", s);
        if ((uint64_t)m->created != hdr->created)
                return rp_err_set(err, -EBADMSG, "image metadata created '%s' differs from the header's",
                                  s);
        return 0;
}

int img_meta_decode(const struct img_header *hdr, const uint8_t *json, size_t len,
                    struct img_meta *ret, struct rp_err *err)
{
        struct img_meta m;
        json_error_t jerr;
        json_t *root;
        int r;

        if (len == 0 || len > IMG_MAX_METADATA)
                return rp_err_set(err, -EFBIG, "image metadata is %zu bytes, the limit is 1..%d", len,
                                  IMG_MAX_METADATA);
        /* Duplicate keys are refused: two readers must never disagree on
         * which value a signed document holds. */
        root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return rp_err_set(err, -EBADMSG, "image metadata is not valid JSON: %s (at byte %d)",
                                  jerr.text, jerr.position);
        memset(&m, 0, sizeof(m));
        r = decode_fields(hdr, root, &m, err);
        json_decref(root);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

int img_meta_parse(const struct img_verified *v, struct img_meta *ret, struct rp_err *err)
{
        struct img_meta m;
        int r = img_meta_decode(&v->hdr, v->metadata, v->metadata_len, &m, err);
        if (r < 0)
                return r;
        memcpy(m.image_digest, v->image_digest, CR_SHA256_LEN);
        memcpy(m.signer_key_id, v->signer_key_id, CR_KEY_ID_LEN);
        m.n_signatures = v->n_signatures;
        *ret = m;
        return 0;
}
