/* periph.h - the runtime's peripheral ownership table: every GPIO, UART,
 * I2C and SPI peripheral has at most one owner app at a time. The runtime
 * consults it before brokering a descriptor to an app; the manifest says
 * which peripherals an app may ask for, the table makes sure two running
 * apps never share one. In memory (rebuilt from the installed manifests at
 * runtime start), fixed size. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "image/manifest.h"
#include "lib/err.h"

#define SBX_PERIPH_MAX 256

enum sbx_periph_kind { SBX_PERIPH_GPIO, SBX_PERIPH_UART, SBX_PERIPH_I2C, SBX_PERIPH_SPI };

struct sbx_periph_entry {
        enum sbx_periph_kind kind;
        char name[IMG_MANIFEST_PERIPH_NAME_MAX + 1];  /* GPIO: decimal number */
        char owner[IMG_MANIFEST_ID_LEN + 1];
};

struct sbx_periph_table {
        size_t n;
        struct sbx_periph_entry e[SBX_PERIPH_MAX];
};

const char *sbx_periph_kind_name(enum sbx_periph_kind k);
/* Claims one peripheral for `m`: -EACCES when its manifest does not declare
 * it, -EBUSY when another app owns it; claiming twice is fine. */
int sbx_periph_claim(struct sbx_periph_table *t, const struct img_manifest *m, enum sbx_periph_kind kind,
                     const char *name, struct rp_err *err) RP_WUR;
/* Owner of a peripheral, or NULL. */
const char *sbx_periph_owner(const struct sbx_periph_table *t, enum sbx_periph_kind kind, const char *name);
/* Releases everything `component_id` owns (app stopped or uninstalled). */
void sbx_periph_release_all(struct sbx_periph_table *t, const char *component_id);
