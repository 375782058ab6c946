/* devices.h - helpers shared by the device-facing entity routes
 * (registry.c, devices.c, groups.c, products.c, ca.c). */
#pragma once
#include <stdbool.h>
#include <jansson.h>

#include "server/http.h"

/* True for a UEID as shown everywhere: 40 lowercase hex characters. */
bool srv_ueid_valid(const char *s);

/* srv_req_json() for routes whose body is optional: an empty body is
 * taken as {} (no Content-Type needed). Same failure contract. */
int srv_req_json_opt(struct srv_req *r, const struct srv_field *fields, size_t n_fields,
                     json_t **ret) RP_WUR;

/* json string, or null for "". */
json_t *srv_json_str_or_null(const char *s);
