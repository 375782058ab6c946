/* routes.c - the route sets the server registers, in matching order. */
#include "server/routes.h"

const struct srv_route_set *const srv_route_sets[] = {
        &srv_routes_ops,
        &srv_routes_tenants,
        &srv_routes_tokens,
        &srv_routes_audit,
        NULL,
};
