/* mon_client.h - the normal world's side of the monitor protocol (used by
 * rampartd and, through it, librampart). One request at a time on the
 * SOCK_SEQPACKET descriptor that rampart-boot passes in RAMPART_MONITOR_FD.
 *
 * A refused request returns a negative code and fills err with the
 * monitor's own message, prefixed by the status name. Returned buffers are
 * malloc'd; the caller frees them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"
#include "monitor/mon_proto.h"

struct mon_client {
        int fd;
        uint8_t rbuf[MON_MAX_MSG];
        struct mon_msg reply;   /* last reply; fields borrow rbuf */
};

/* Opens the descriptor named by RAMPART_MONITOR_FD. */
int mon_client_from_env(struct mon_client *c, struct rp_err *err) RP_WUR;
/* Sends an encoded (finished) request and receives the reply into c->reply.
 * Returns 0 for status ok, -EPROTO (with the monitor's message) otherwise. */
int mon_call(struct mon_client *c, const struct mon_enc *req, struct rp_err *err) RP_WUR;
/* Sends raw bytes as one record and receives the reply (tests). */
int mon_call_raw(struct mon_client *c, const void *req, size_t len, struct rp_err *err) RP_WUR;

struct mon_boot_info {
        char ueid[41];
        char slot[2];
        char os_name[65];
        char os_version[65];
        uint64_t svn;
        uint64_t bootcount;
        bool debug;
        bool trial;
        char lifecycle[16];
        uint8_t fwid[32];
};
int mon_boot_info(struct mon_client *c, struct mon_boot_info *ret, struct rp_err *err) RP_WUR;

/* PEM (NUL-terminated) or DER of DeviceID, Alias and device CA certs. */
int mon_get_chain(struct mon_client *c, bool pem, uint8_t **ret_deviceid, size_t *ret_deviceid_len,
                  uint8_t **ret_alias, size_t *ret_alias_len, uint8_t **ret_ca,
                  size_t *ret_ca_len, struct rp_err *err) RP_WUR;

struct mon_submod {
        const char *name;
        uint8_t digest[32];
};
/* Evidence JWS over claims the monitor builds; key_handle 0 = no key binding. */
int mon_attest(struct mon_client *c, const uint8_t *nonce, size_t nonce_len, uint32_t key_handle,
               const struct mon_submod *submods, size_t n_submods, char **ret_jws,
               struct rp_err *err) RP_WUR;
int mon_tls_key_create(struct mon_client *c, const char *cn, uint32_t *ret_handle,
                       uint8_t **ret_csr_der, size_t *ret_len, struct rp_err *err) RP_WUR;
int mon_tls_sign(struct mon_client *c, uint32_t handle, const uint8_t digest[32],
                 uint8_t **ret_sig_der, size_t *ret_len, struct rp_err *err) RP_WUR;
int mon_tls_key_destroy(struct mon_client *c, uint32_t handle, struct rp_err *err) RP_WUR;
int mon_counter_read(struct mon_client *c, const char *name, uint64_t *ret,
                     struct rp_err *err) RP_WUR;
int mon_counter_advance(struct mon_client *c, const char *name, uint64_t value, uint64_t *ret,
                        struct rp_err *err) RP_WUR;
int mon_confirm(struct mon_client *c, struct rp_err *err) RP_WUR;
int mon_reboot(struct mon_client *c, struct rp_err *err) RP_WUR;
/* Hands the OS package open on `fd` to the monitor, which verifies it and
 * installs it into the slot that is not running, as a trial with `attempts`
 * boots; ret_slot gets that slot's letter. */
int mon_install_os(struct mon_client *c, int fd, unsigned attempts, char ret_slot[2],
                   struct rp_err *err) RP_WUR;
