/* config.h - rampartd's configuration: which service the device talks to.
 *
 * DATA/config.json (DATA = the device's normal-world data directory,
 * DEVICE/data on an emulated device), mode 0600, written atomically by
 * `rampart-device configure`:
 *
 *   {"server": "https://127.0.0.1:8443", "tenant": "ten_<32 hex>",
 *    "server_ca": "server-ca.pem"}
 *
 * server_ca is the PEM file the server's TLS certificate must chain to (a
 * self-signed server certificate is its own CA); a relative path is
 * relative to DATA. When it is absent, rampartd uses the CA that ships in
 * its OS image (etc/rampart/server-ca.pem next to bin/rampartd). There is no
 * way to turn server verification off.
 *
 * Unknown members, wrong types and malformed values are refused with a
 * message naming the member and the value. */
#pragma once
#include <stdbool.h>
#include "lib/err.h"

#define RTD_CONFIG_FILE "config.json"
#define RTD_CONFIG_MAX (16 * 1024)
#define RTD_URL_MAX 512
#define RTD_TENANT_LEN 36               /* "ten_" + 32 lowercase hex */
#define RTD_PATH_MAX 1024

struct rtd_config {
        char server[RTD_URL_MAX];               /* https://host[:port], no trailing '/' */
        char tenant[RTD_TENANT_LEN + 1];
        char server_ca[RTD_PATH_MAX];           /* "" = the OS image's CA */
};

/* Checks one value each; 0 or -EINVAL with a message naming the value. */
int rtd_config_check_server(const char *url, struct rp_err *err) RP_WUR;
int rtd_config_check_tenant(const char *tenant, struct rp_err *err) RP_WUR;

/* Parses DATA/config.json. -ENOENT (message says how to configure) when
 * there is none. *ret is written only on success. */
int rtd_config_load(const char *data_dir, struct rtd_config *ret, struct rp_err *err) RP_WUR;
/* Validates and writes atomically (0600). */
int rtd_config_save(const char *data_dir, const struct rtd_config *c, struct rp_err *err) RP_WUR;
