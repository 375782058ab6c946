/* routes.c - the route sets the server registers, in matching order. */
#include "server/routes.h"

const struct srv_route_set *const srv_route_sets[] = {
        &srv_routes_ops,
        &srv_routes_tenants,
        &srv_routes_tokens,
        &srv_routes_audit,
        &srv_routes_registry,
        &srv_routes_products,
        &srv_routes_groups,
        &srv_routes_devices,
        &srv_routes_ca,
        &srv_routes_est,
        &srv_routes_failures,
        &srv_routes_capabilities,
        &srv_routes_repo,
        &srv_routes_images,
        &srv_routes_deploy,
        &srv_routes_director,
        NULL,
};
