/* uid.h - one uid/gid per app, stable across restarts and updates.
 *
 * The table STATE/uids holds "<ComponentId> <uid>" lines; a component keeps
 * its uid for as long as it is installed (its storage is owned by it). New
 * components get the lowest free uid in [SBX_UID_BASE, SBX_UID_BASE +
 * SBX_UID_COUNT). gid == uid. The table is updated under an exclusive lock
 * with an atomic replace. */
#pragma once
#include <sys/types.h>

#include "lib/err.h"

#define SBX_UID_BASE 20000u
#define SBX_UID_COUNT 10000u
#define SBX_UID_TABLE_MAX (SBX_UID_COUNT * 64u)

int sbx_uid_alloc(const char *state_dir, const char *component_id, uid_t *ret_uid,
                  struct rp_err *err) RP_WUR;
/* Forgets a component (at uninstall); its uid may be reused afterwards. */
int sbx_uid_release(const char *state_dir, const char *component_id, struct rp_err *err) RP_WUR;
