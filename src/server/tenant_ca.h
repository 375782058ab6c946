/* tenant_ca.h - tenant certificate authorities: creation (at tenant
 * creation, and for rotation) and loading the signing key back. */
#pragma once
#include "lib/err.h"
#include "store/ca.h"

struct srv;
struct cr_key;
struct cr_cert;

#define SRV_CA_VALIDITY_DAYS 730        /* 2 years */

/* Generates a P-256 CA "CN=Rampart tenant CA <gen>, O=<tenant_id>", valid
 * SRV_CA_VALIDITY_DAYS from now, seals its key, and stores it with `state`
 * ("current" or "next") and `generation`. The caller runs this inside its
 * transaction. *ret (optional) gets the stored record. */
int srv_tenant_ca_create(struct srv *s, const char *tenant_id, int generation, const char *state,
                         struct store_ca *ret, struct rp_err *err) RP_WUR;
/* Unseals a stored CA's key and parses its certificate. */
int srv_tenant_ca_load(struct srv *s, const struct store_ca *ca, struct cr_cert **ret_cert,
                       struct cr_key **ret_key, struct rp_err *err) RP_WUR;
