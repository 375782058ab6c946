/* manifest.h - the app manifest (app_manifest.json): parser and validator.
 *
 * Pure: a buffer goes in, a verdict and a filled struct come out; no file
 * I/O, no logging, no network. The input is untrusted (it comes from an app
 * image, checked at pack time and again at install time), so every size has
 * a named cap, unknown fields and wrong types are rejected, and every error
 * message names the field and the offending value.
 *
 * The parsed struct is self-contained (fixed-size arrays, no pointers), so it
 * can be copied, stored and compared without an owner. See
 * docs/app-manifest.md for the schema. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define IMG_MANIFEST_FILE "app_manifest.json"
#define IMG_MANIFEST_SCHEMA_VERSION 1

#define IMG_MANIFEST_MAX_SIZE (32 * 1024)        /* bytes of JSON */
#define IMG_MANIFEST_MAX_STORAGE_KB 65536        /* MutableStorage.SizeKB */
#define IMG_MANIFEST_MIN_STORAGE_KB 256          /* smallest usable filesystem */
#define IMG_MANIFEST_NAME_MAX 64                 /* Name, without NUL */
#define IMG_MANIFEST_ID_LEN 36                   /* ComponentId: canonical UUID */
#define IMG_MANIFEST_PATH_MAX 255                /* EntryPoint */
#define IMG_MANIFEST_MAX_ARGS 32                 /* CmdArgs entries */
#define IMG_MANIFEST_ARG_MAX 255                 /* one CmdArgs entry */
#define IMG_MANIFEST_MAX_CONNECTIONS 32          /* AllowedConnections entries */
#define IMG_MANIFEST_HOST_MAX 253                /* DNS name length limit */
#define IMG_MANIFEST_MAX_PORTS 16                /* per server-port list */
#define IMG_MANIFEST_MAX_PERIPH 16               /* per peripheral list */
#define IMG_MANIFEST_PERIPH_NAME_MAX 31          /* "ISU0", "UART1" ... */
#define IMG_MANIFEST_MAX_GPIO 1023               /* highest GPIO number */
#define IMG_MANIFEST_MAX_APP_CONN 16             /* AllowedApplicationConnections */

/* One AllowedConnections entry: "host" or "host:port" ("[v6]:port" for an
 * IPv6 literal with a port). port 0 means any port. */
enum img_host_kind { IMG_HOST_NAME, IMG_HOST_IPV4, IMG_HOST_IPV6 };
struct img_manifest_conn {
        char host[IMG_MANIFEST_HOST_MAX + 1];    /* lowercased name or literal */
        enum img_host_kind kind;
        uint8_t addr[16];                        /* literal: 4 or 16 bytes */
        uint16_t port;
};

enum img_power_control {
        IMG_POWER_FORCE_REBOOT = 1u << 0,
        IMG_POWER_FORCE_POWER_DOWN = 1u << 1,
        IMG_POWER_SET_POWER_PROFILE = 1u << 2,
};

struct img_manifest {
        int schema_version;
        char name[IMG_MANIFEST_NAME_MAX + 1];
        char component_id[IMG_MANIFEST_ID_LEN + 1]; /* lowercase */
        char entry_point[IMG_MANIFEST_PATH_MAX + 1];
        size_t n_args;
        char args[IMG_MANIFEST_MAX_ARGS][IMG_MANIFEST_ARG_MAX + 1];

        size_t n_conns;
        struct img_manifest_conn conns[IMG_MANIFEST_MAX_CONNECTIONS];
        size_t n_tcp_ports, n_udp_ports;
        uint16_t tcp_ports[IMG_MANIFEST_MAX_PORTS];
        uint16_t udp_ports[IMG_MANIFEST_MAX_PORTS];
        uint32_t storage_kb;                     /* 0: no mutable storage */
        bool device_auth;
        size_t n_gpio, n_uart, n_i2c, n_spi;
        uint16_t gpio[IMG_MANIFEST_MAX_PERIPH];
        char uart[IMG_MANIFEST_MAX_PERIPH][IMG_MANIFEST_PERIPH_NAME_MAX + 1];
        char i2c[IMG_MANIFEST_MAX_PERIPH][IMG_MANIFEST_PERIPH_NAME_MAX + 1];
        char spi[IMG_MANIFEST_MAX_PERIPH][IMG_MANIFEST_PERIPH_NAME_MAX + 1];
        size_t n_app_conns;
        char app_conns[IMG_MANIFEST_MAX_APP_CONN][IMG_MANIFEST_ID_LEN + 1];
        bool system_events;
        bool update_deferral;
        unsigned power_controls;                 /* enum img_power_control bits */
};

/* Parses and validates `len` bytes of JSON. On success fills *ret (which
 * the caller owns; it is written only on success) and returns 0. On failure
 * returns -EBADMSG (malformed JSON), -EINVAL (a field is wrong), -E2BIG
 * (over a size cap) with a message naming the field and value. */
int img_manifest_parse(const uint8_t *data, size_t len, struct img_manifest *ret,
                       struct rp_err *err) RP_WUR;

/* Checks that `m` claims no peripheral (GPIO, UART, I2C, SPI) and no TCP or
 * UDP server port already declared by one of the `n` installed manifests.
 * A manifest with the same ComponentId as `m` is skipped (it is the version
 * being replaced). Returns 0 or -EBUSY naming the resource and its owner. */
int img_manifest_check_conflicts(const struct img_manifest *m,
                                 const struct img_manifest *const *installed, size_t n,
                                 struct rp_err *err) RP_WUR;

/* Connection entry helpers. Parses a textual IPv4/IPv6 literal into *ret
 * (4 or 16 bytes, *ret_len set); -EINVAL when `s` is not one. */
int img_manifest_parse_ip(const char *s, uint8_t ret[16], size_t *ret_len) RP_WUR;
/* True when `s` is a valid DNS name (RFC 1123 labels, at most 253 bytes). */
bool img_manifest_valid_dns_name(const char *s);
