/* dice_provision.c - the DeviceID certificate, issued once by the
 * manufacturing station (rampart-device provision); not part of the boot
 * stage. */
#include "dice/dice.h"

#define NOT_AFTER_FOREVER ((time_t)253402300799) /* 9999-12-31T23:59:59Z */

int dice_deviceid_cert_issue(const struct cr_cert *ca_cert, const struct cr_key *ca_key,
                             const struct cr_key *deviceid, const uint8_t id[DICE_ID_LEN],
                             struct cr_cert **ret, struct rp_err *err)
{
        char cn[DICE_UEID_HEX_LEN + 1];
        uint8_t ueid_der[64];
        size_t ueid_len;
        int r = dice_ueid_encode(id, ueid_der, sizeof(ueid_der), &ueid_len);
        if (r < 0)
                return rp_err_set(err, r, "cannot encode the UEID extension");
        dice_id_hex(id, cn);
        struct cr_ext ext = {.oid = DICE_OID_UEID, .der = ueid_der, .der_len = ueid_len};
        struct cr_cert_spec spec = {
                .cn = cn,
                .o = "Rampart DeviceID",
                .not_after = NOT_AFTER_FOREVER,
                .ca = true,
                .path_len = 0,
                .key_usage = CR_KU_KEY_CERT_SIGN | CR_KU_DIGITAL_SIGNATURE,
                .exts = &ext,
                .n_exts = 1,
        };
        return cr_cert_issue(ca_cert, ca_key, deviceid, &spec, ret, err);
}
