/* srv_json_fuzz.c - the operator API's request-body validator
 * (srv_json_check) and the RFC 3339 time parser on arbitrary bytes. Checks
 * that every accepted body has exactly the declared members with the
 * declared types and limits, and that an accepted time formats back to a
 * parseable one. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/http.h"

static const struct srv_field fields[] = {
        {"name", SRV_F_STRING, SRV_F_NAME | SRV_F_REQUIRED, 32},
        {"role", SRV_F_STRING, SRV_F_NULLABLE, 16},
        {"n", SRV_F_INT, 0, 0},
        {"on", SRV_F_BOOL, 0, 0},
        {"obj", SRV_F_OBJECT, 0, 0},
        {"list", SRV_F_ARRAY, SRV_F_NULLABLE, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *j = NULL;
        struct rp_err err = {0};
        if (srv_json_check(data, size, SRV_FIELDS(fields), &j, &err) == 0) {
                const char *k;
                json_t *v;
                json_object_foreach(j, k, v) {
                        size_t i;
                        for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                                if (!strcmp(fields[i].name, k))
                                        break;
                        if (i == sizeof(fields) / sizeof(fields[0]) || json_is_null(v))
                                abort();
                }
                json_t *name = json_object_get(j, "name");
                if (!json_is_string(name) || json_string_length(name) == 0 ||
                    json_string_length(name) > 32 || strlen(json_string_value(name)) != json_string_length(name))
                        abort();
                json_decref(j);
        } else if (err.code != -EINVAL || !err.msg[0]) {
                abort();
        }

        char s[64];
        size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
        memcpy(s, data, n);
        s[n] = 0;
        int64_t ms = 0, again = 0;
        if (srv_time_parse(s, &ms) == 0 && ms > 0 && ms < 253402300799000LL) {
                char b[32];
                srv_time_fmt(ms, b);
                if (srv_time_parse(b, &again) != 0 || again / 1000 != ms / 1000)
                        abort();
        }
        return 0;
}
