/* routes.h - every route set the server registers. Each entity module
 * defines one `const struct srv_route_set srv_routes_<entity>` and adds it
 * to this list and to the table in routes.c. The authorization matrix test
 * and the OpenAPI check read the registered table, so a route is covered
 * the moment it is listed here. */
#pragma once
#include "server/http.h"

extern const struct srv_route_set srv_routes_ops;       /* /healthz, /metrics, /_routes, whoami */
extern const struct srv_route_set srv_routes_tenants;
extern const struct srv_route_set srv_routes_tokens;
extern const struct srv_route_set srv_routes_audit;
extern const struct srv_route_set srv_routes_registry;  /* manufacturers, registration records */
extern const struct srv_route_set srv_routes_products;
extern const struct srv_route_set srv_routes_groups;
extern const struct srv_route_set srv_routes_devices;
extern const struct srv_route_set srv_routes_ca;
extern const struct srv_route_set srv_routes_est;     /* EST endpoints, OS releases, attestation settings */
extern const struct srv_route_set srv_routes_failures; /* failure intake and triage */
extern const struct srv_route_set srv_routes_capabilities; /* device capabilities (development) */
extern const struct srv_route_set srv_routes_repo;     /* update repository metadata */
extern const struct srv_route_set srv_routes_images;   /* image upload, list, device download */
extern const struct srv_route_set srv_routes_deploy;   /* deployments */
extern const struct srv_route_set srv_routes_director; /* device check-in and metadata */

/* NULL-terminated list used by the server at start-up. */
extern const struct srv_route_set *const srv_route_sets[];
