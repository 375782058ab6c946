/* groups.h - device group policy values and the default groups every new
 * product gets (used by products.c inside its creating transaction). */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "lib/err.h"
#include "store/groups.h"

/* 0 when `v` is one of update-all | no-app-updates | no-updates. */
int srv_update_policy_check(const char *v) RP_WUR;
/* 0 when `v` is one of retail | retail-eval. */
int srv_os_feed_check(const char *v) RP_WUR;

json_t *srv_group_json(const struct store_group *g);

/* Creates Development, Field Test and Production for the product; appends
 * each group's JSON to `out` (may be NULL). Run inside a transaction. */
int srv_groups_create_defaults(struct store *st, const char *tenant_id, const char *product_id,
                               int64_t now_ms, json_t *out, struct rp_err *err) RP_WUR;
