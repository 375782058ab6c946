/* apps.h - the device's installed apps, on disk, and the development
 * capability that allows sideloading.
 *
 * Layout beneath DATA/apps/installed/<ComponentId>/:
 *   v/<version>/   the app image, extracted from a verified package
 *                  (img_extract_fd: verified, then extracted aside and
 *                  renamed into place, so a version directory is complete
 *                  or absent)
 *   current        symlink "v/<version>": the version that runs; switched
 *                  by writing a new symlink aside and renaming it over
 *   previous       symlink to the version that ran before the last switch,
 *                  kept until the new one has run (rtd_apps_prune)
 * A version is installed only if its package verifies with a trusted key,
 * it is an app image whose app_manifest.json parses, names the package's
 * ComponentId and an executable EntryPoint, and claims no peripheral or
 * server port another installed app declares. Any refusal leaves the
 * installed state as it was.
 *
 * Development capability (docs/sdk.md): a compact JWS (ES256) issued by the
 * service, signed with the key of the server certificate the device pins
 * (its server CA file), whose payload is
 *   {"capability":"development","ueid":"<ueid>","iat":N,"exp":N,
 *    "keys":["<PEM public key>", ...]}
 * It is bound to one device (ueid) and expires; `keys` are the signing
 * keys whose packages may be sideloaded. Stored as DATA/capabilities/
 * development.jws only after it verifies. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "crypto/crypto.h"
#include "image/image.h"
#include "image/manifest.h"
#include "lib/err.h"

#define RTD_APPS_MAX 32                 /* installed apps */
#define RTD_DEVCAP_MAX (16 * 1024)      /* bytes of a capability document */
#define RTD_DEVCAP_MAX_KEYS 8
#define RTD_DEVCAP_FILE "capabilities/development.jws"

struct rtd_app_info {
        struct img_manifest m;
        char version[IMG_MAX_VERSION + 1];
        char root[4400];                /* the current version's directory */
        char previous[IMG_MAX_VERSION + 1];   /* "" when none is kept */
};

/* Loads every installed app's current version (manifest parsed again).
 * An app whose files are unusable is skipped with a warning in `skipped`
 * (may be NULL; one message per app, newline-separated, truncated). */
int rtd_apps_load(const char *data_dir, struct rtd_app_info **ret, size_t *ret_n,
                  char *skipped, size_t skipped_len) RP_WUR;

/* Verifies and extracts the package on `fd` into a new version directory
 * of its component and checks it (see above) against the installed apps;
 * does not switch. ret_info describes the new version (root = its
 * directory). -EEXIST when that version is already installed. */
int rtd_apps_stage(const char *data_dir, int fd, struct cr_key *const *trusted, size_t n_trusted,
                   struct rtd_app_info *ret_info, struct rp_err *err) RP_WUR;
/* Makes `version` current, keeping the old current one as previous. */
int rtd_apps_switch(const char *data_dir, const char *component_id, const char *version,
                    struct rp_err *err) RP_WUR;
/* Removes the previous version (the current one has run). */
int rtd_apps_prune(const char *data_dir, const char *component_id, struct rp_err *err) RP_WUR;
/* Removes a staged version that never became current. */
void rtd_apps_unstage(const char *data_dir, const char *component_id, const char *version);
/* Removes the app completely (not its storage image, which stays with its uid). */
int rtd_apps_remove(const char *data_dir, const char *component_id, struct rp_err *err) RP_WUR;

struct rtd_devcap {
        char ueid[80];
        time_t iat, exp;
        size_t n_keys;
        struct cr_key *keys[RTD_DEVCAP_MAX_KEYS];      /* owned */
};
void rtd_devcap_clear(struct rtd_devcap *c);

/* Verifies a capability document with the key of the certificate in
 * `server_ca_file`, for device `ueid` at time `now`. */
int rtd_devcap_verify(const char *doc, size_t len, const char *server_ca_file, const char *ueid,
                      time_t now, struct rtd_devcap *ret, struct rp_err *err) RP_WUR;
/* Loads DATA/capabilities/development.jws and verifies it as above.
 * -ENOENT when the device has none. */
int rtd_devcap_load(const char *data_dir, const char *server_ca_file, const char *ueid, time_t now,
                    struct rtd_devcap *ret, struct rp_err *err) RP_WUR;
/* Verifies, then stores atomically. */
int rtd_devcap_store(const char *data_dir, const char *doc, size_t len, const char *server_ca_file,
                     const char *ueid, time_t now, struct rtd_devcap *ret, struct rp_err *err) RP_WUR;
