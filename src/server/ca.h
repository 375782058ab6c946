/* ca.h - the tenant CA bundle that relying parties (an MQTT broker, a web
 * service, the EST /cacerts route) use to authenticate devices.
 *
 * Overlap rule: the bundle holds the tenant's "current" CA (which signs
 * device certificates), its "next" CA once `rotate` created one, and every
 * "retired" CA until that CA's own notAfter. A rotation therefore never
 * removes a CA that a relying party may still need: certificates issued by
 * the old CA stay verifiable until they (and it) expire. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "store/ca.h"

struct store;

/* At most this many CAs are served at once; a rotation that would exceed
 * it is refused until a retired CA expires. */
#define SRV_CA_MAX_SERVED 4

/* True when the CA belongs in the bundle at time now_ms. */
bool srv_ca_served(const struct store_ca *ca, int64_t now_ms);

/* PEM bundle of the served CAs: current first, then next, then retired
 * ones newest first. *ret_pem is malloc'd (caller frees); *ret_n (optional)
 * gets the number of certificates. -ENOENT when the tenant has no CA. */
int srv_ca_bundle(struct store *st, const char *tenant_id, int64_t now_ms, char **ret_pem,
                  size_t *ret_n, struct rp_err *err) RP_WUR;
