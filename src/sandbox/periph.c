/* periph.c - see periph.h. */
#include "sandbox/periph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sbx_periph_kind_name(enum sbx_periph_kind k)
{
        switch (k) {
        case SBX_PERIPH_GPIO: return "Gpio";
        case SBX_PERIPH_UART: return "Uart";
        case SBX_PERIPH_I2C: return "I2cMaster";
        case SBX_PERIPH_SPI: return "SpiMaster";
        }
        return "?";
}

static bool declared(const struct img_manifest *m, enum sbx_periph_kind kind, const char *name)
{
        const char (*list)[IMG_MANIFEST_PERIPH_NAME_MAX + 1] = NULL;
        size_t n = 0;
        switch (kind) {
        case SBX_PERIPH_GPIO: {
                char *end;
                unsigned long g = strtoul(name, &end, 10);
                if (!*name || *end || (name[0] == '0' && name[1]))
                        return false;
                for (size_t i = 0; i < m->n_gpio; i++)
                        if (m->gpio[i] == g)
                                return true;
                return false;
        }
        case SBX_PERIPH_UART: list = m->uart; n = m->n_uart; break;
        case SBX_PERIPH_I2C: list = m->i2c; n = m->n_i2c; break;
        case SBX_PERIPH_SPI: list = m->spi; n = m->n_spi; break;
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], name) == 0)
                        return true;
        return false;
}

static struct sbx_periph_entry *find(const struct sbx_periph_table *t, enum sbx_periph_kind kind,
                                     const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->e[i].kind == kind && strcmp(t->e[i].name, name) == 0)
                        return (struct sbx_periph_entry *)&t->e[i];
        return NULL;
}

int sbx_periph_claim(struct sbx_periph_table *t, const struct img_manifest *m, enum sbx_periph_kind kind,
                     const char *name, struct rp_err *err)
{
        struct sbx_periph_entry *e;

        if (strlen(name) > IMG_MANIFEST_PERIPH_NAME_MAX || !declared(m, kind, name))
                return rp_err_set(err, -EACCES, "peripheral %s '%.40s' is not declared in the manifest of app '%s'",
                                  sbx_periph_kind_name(kind), name, m->name);
        if ((e = find(t, kind, name))) {
                if (strcmp(e->owner, m->component_id) == 0)
                        return 0;
                return rp_err_set(err, -EBUSY, "peripheral %s '%s' is owned by app %s", sbx_periph_kind_name(kind),
                                  name, e->owner);
        }
        if (t->n >= SBX_PERIPH_MAX)
                return rp_err_set(err, -ENOSPC, "peripheral table full (%d entries)", SBX_PERIPH_MAX);
        e = &t->e[t->n++];
        e->kind = kind;
        snprintf(e->name, sizeof(e->name), "%s", name);
        snprintf(e->owner, sizeof(e->owner), "%s", m->component_id);
        return 0;
}

const char *sbx_periph_owner(const struct sbx_periph_table *t, enum sbx_periph_kind kind, const char *name)
{
        const struct sbx_periph_entry *e = find(t, kind, name);
        return e ? e->owner : NULL;
}

void sbx_periph_release_all(struct sbx_periph_table *t, const char *component_id)
{
        size_t w = 0;
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->e[i].owner, component_id) != 0)
                        t->e[w++] = t->e[i];
        t->n = w;
}
