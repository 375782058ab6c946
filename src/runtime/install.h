/* install.h - how the update agent puts a downloaded, hash-checked image
 * package to use.
 *
 * OS images go through the security monitor: the normal world opens the
 * package read-only and passes the descriptor with install-os; rampart-boot
 * verifies it against the fused platform keys and the `os` floor, writes it
 * into the slot that is not running, verifies the copy and makes that slot
 * the preferred one as a trial with N boot attempts. The normal world never
 * writes a slot. The agent then asks the monitor for a reboot.
 *
 * Both are verified here first (img_verify): OS packages against the
 * platform targets keys of the trusted root, app packages against the keys
 * of the tenant's delegation in the verified targets, so a package not
 * signed by them is refused before anything is written. App images are then
 * installed by the app supervisor
 * (supervisor.h: new version directory, stop, atomic switch, start, old
 * version kept until the new one has run). The agent reaches the
 * supervisor through struct rtd_agent_apps (agent.h), so it builds and is
 * tested without linking the sandbox. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "image/image.h"
#include "lib/err.h"
#include "tuf/meta.h"

struct mon_client;

#define RTD_INSTALL_MIN_ATTEMPTS 1
#define RTD_INSTALL_MAX_ATTEMPTS 15

/* install-os with the package at `pkg`; ret_slot gets the slot letter.
 * -EKEYREJECTED when the monitor refused the package (its verdict: wrong
 * signature, type or SVN); other codes when the monitor could not be asked
 * (it went away: a power loss). */
int rtd_install_os(struct mon_client *mon, const char *pkg, unsigned attempts, char ret_slot[2],
                   struct rp_err *err) RP_WUR;

/* The public keys a delegated role lists (its key ids looked up in the
 * verified top-level targets `targets_payload`, the exact payload bytes the
 * TUF client accepted). *ret_keys is a malloc'd array of *ret_n keys; free
 * with rtd_install_keys_free. -ENOENT when the role has no delegation. */
int rtd_install_role_keys(const uint8_t *targets_payload, size_t len, const char *role,
                          struct cr_key ***ret_keys, size_t *ret_n, struct rp_err *err) RP_WUR;
void rtd_install_keys_free(struct cr_key **keys, size_t n);

/* Verifies the package at `pkg` with `trusted` (img_verify) and checks that
 * what it says (type, component id, version, svn) is what the assignment
 * names. Returns the open descriptor (rewound) in *ret_fd. */
int rtd_install_check(const char *pkg, struct cr_key *const *trusted, size_t n_trusted,
                      const struct tuf_image *want, int *ret_fd, struct img_meta *ret_meta,
                      struct rp_err *err) RP_WUR;
/* The platform targets keys of the trusted root: the keys OS packages must
 * be signed by (the service refuses others at upload, and rampart-boot's
 * fused platform keys are these). Free with rtd_install_keys_free. */
int rtd_install_root_targets_keys(const struct tuf_root *root, struct cr_key ***ret_keys,
                                  size_t *ret_n, struct rp_err *err) RP_WUR;
