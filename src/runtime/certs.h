/* certs.h - the device's certificates, as rampartd keeps them.
 *
 * A device holds one certificate per purpose (docs/attestation.md): the
 * platform certificate (rampartd's own mTLS: updates, failure reports) and
 * the app certificate (for apps with the DeviceAuthentication capability).
 * Each is stored in DATA/certs/ as two files, both written atomically:
 *
 *   <purpose>.pem    the certificate the service issued (PEM)
 *   <purpose>.json   {"handle": N, "bootcount": N, "fwid": "<hex>",
 *                     "cert_sha256": "<hex>"}
 *
 * The private key never leaves rampart-boot: what is stored is the
 * monitor's handle of the key and the boot it belongs to. TLS keys die with
 * the boot, so after a reboot a stored certificate can no longer be used
 * for TLS (rtd_cert_usable says so) and rampartd attests again. fwid is the
 * OS measurement the certificate was issued for (an OS change is detected
 * against it). cert_sha256 binds the two files: a pair whose hash does not
 * match (a power cut between the two renames) loads as -ESTALE, which the
 * caller treats like no certificate. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/err.h"

#define RTD_CERT_MAX (16 * 1024)

enum rtd_purpose {
        RTD_PURPOSE_PLATFORM,
        RTD_PURPOSE_APP,
        RTD_PURPOSE_COUNT
};
/* "platform" / "app". */
const char *rtd_purpose_name(enum rtd_purpose p);

struct rtd_cert {
        struct cr_cert *cert;           /* owned */
        uint32_t handle;                /* monitor TLS key handle */
        uint64_t bootcount;             /* boot the key was created in */
        uint8_t fwid[CR_SHA256_LEN];    /* OS measurement it was issued for */
        time_t not_before, not_after;
        char serial[80];                /* hex */
};
void rtd_cert_clear(struct rtd_cert *c);   /* frees and zeroes; accepts a zeroed one */

/* Stores a newly issued certificate (PEM, one certificate) for `p`:
 * the .pem first, then the .json that names its hash. */
int rtd_cert_store(const char *data_dir, enum rtd_purpose p, const char *pem, size_t len,
                   uint32_t handle, uint64_t bootcount, const uint8_t fwid[CR_SHA256_LEN],
                   struct rp_err *err) RP_WUR;
/* Loads the stored certificate of `p`. -ENOENT: none; -ESTALE: the two
 * files do not belong together; -EINVAL: unreadable (message says why). */
int rtd_cert_load(const char *data_dir, enum rtd_purpose p, struct rtd_cert *ret,
                  struct rp_err *err) RP_WUR;

/* True when the key is from this boot and `now` is inside the validity. */
bool rtd_cert_usable(const struct rtd_cert *c, uint64_t bootcount, time_t now);
/* The renewal point: not_before + fraction * (not_after - not_before). */
time_t rtd_cert_renew_at(const struct rtd_cert *c, double fraction);
