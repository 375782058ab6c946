/* tokens.h - token route helpers shared with the tenant routes. */
#pragma once
#include <jansson.h>

#include "server/http.h"
#include "store/tokens.h"

/* The public view of a token (never its text or hash). */
json_t *srv_token_json(const struct store_token *t, int64_t now_ms);
/* Handles a token-create body for `tenant_id` and replies 201 with the
 * token text (shown once). */
void srv_token_create_in(struct srv_req *r, const char *tenant_id);
