/* rot.c - picks the root-of-trust backend for a device. The boot stage and
 * the factory tool call only these, so adding a backend (TPM 2.0) changes
 * nothing outside src/rot. Today every device directory uses the emulated
 * backend. */
#include "rot/rot.h"

int rot_open(const char *dir, struct rot **ret, struct rp_err *err)
{
        return rot_emul_open(dir, ret, err);
}

int rot_create(const char *dir, struct rot **ret, struct rp_err *err)
{
        return rot_emul_create(dir, ret, err);
}
