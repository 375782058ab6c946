/* install.c - see install.h. */
#include "runtime/install.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "monitor/mon_client.h"
#include "runtime/download.h"
#include "tuf/envelope.h"

int rtd_install_os(struct mon_client *mon, const char *pkg, unsigned attempts, char ret_slot[2],
                   struct rp_err *err)
{
        _cleanup_close_ int fd = open(pkg, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        int r;

        if (attempts < RTD_INSTALL_MIN_ATTEMPTS || attempts > RTD_INSTALL_MAX_ATTEMPTS)
                return rp_err_set(err, -EINVAL, "trial attempts %u is outside %d..%d", attempts,
                                  RTD_INSTALL_MIN_ATTEMPTS, RTD_INSTALL_MAX_ATTEMPTS);
        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", pkg, strerror(errno));
        r = mon_install_os(mon, fd, attempts, ret_slot, err);
        if (r == -EPROTO) {
                rp_err_prefix(err, "the security monitor refused the OS image");
                return err ? (err->code = -EKEYREJECTED) : -EKEYREJECTED;
        }
        if (r < 0)
                return rp_err_prefix(err, "install-os");
        return 0;
}

void rtd_install_keys_free(struct cr_key **keys, size_t n)
{
        if (!keys)
                return;
        for (size_t i = 0; i < n; i++)
                cr_key_free(keys[i]);
        free(keys);
}

int rtd_install_role_keys(const uint8_t *targets_env, size_t len, const char *role,
                          struct cr_key ***ret_keys, size_t *ret_n, struct rp_err *err)
{
        struct tuf_envelope env = {0};
        struct tuf_targets t = {0};
        const struct tuf_delegation *dl;
        struct cr_key **keys = NULL;
        size_t n = 0;
        int r;

        r = tuf_envelope_parse(targets_env, len, TUF_MAX_TARGETS, "targets", &env, err);
        if (r < 0)
                return r;
        r = tuf_targets_parse(env.payload, env.payload_len, NULL, &t, err);
        tuf_envelope_free(&env);
        if (r < 0)
                return r;
        dl = tuf_targets_delegation(&t, role);
        if (!dl) {
                r = rp_err_set(err, -ENOENT, "targets version %" PRIu64 " delegates nothing to "
                               "'%s'", t.version, role);
                goto out;
        }
        keys = calloc(dl->keys.n ? dl->keys.n : 1, sizeof(*keys));
        if (!keys) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < dl->keys.n; i++) {
                const struct tuf_key *k = tuf_keyring_find(&t.dkeys, dl->keys.ids[i]);
                if (!k)
                        continue;
                r = cr_key_pub_from_raw(k->pub, &keys[n], err);
                if (r < 0) {
                        rtd_install_keys_free(keys, n);
                        goto out;
                }
                n++;
        }
        *ret_keys = keys;
        *ret_n = n;
        r = 0;
out:
        tuf_targets_free(&t);
        return r;
}

int rtd_install_root_targets_keys(const struct tuf_root *root, struct cr_key ***ret_keys,
                                  size_t *ret_n, struct rp_err *err)
{
        const struct tuf_role_keys *rk = &root->roles[TUF_ROLE_TARGETS];
        struct cr_key **keys = calloc(rk->n ? rk->n : 1, sizeof(*keys));
        size_t n = 0;

        if (!keys)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < rk->n; i++) {
                const struct tuf_key *k = tuf_keyring_find(&root->keys, rk->ids[i]);
                int r;
                if (!k)
                        continue;
                r = cr_key_pub_from_raw(k->pub, &keys[n], err);
                if (r < 0) {
                        rtd_install_keys_free(keys, n);
                        return r;
                }
                n++;
        }
        *ret_keys = keys;
        *ret_n = n;
        return 0;
}

int rtd_install_check(const char *pkg, struct cr_key *const *trusted, size_t n_trusted,
                      const struct tuf_image *want, int *ret_fd, struct img_meta *ret_meta,
                      struct rp_err *err)
{
        _cleanup_close_ int fd = open(pkg, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct img_meta m;
        int r;

        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", pkg, strerror(errno));
        enum img_type type = want->type == TUF_IMAGE_OS ? IMG_TYPE_OS : IMG_TYPE_APP;

        if (n_trusted == 0)
                return rp_err_set(err, -EKEYREJECTED, "image '%s': no usable signing key is "
                                  "trusted for it", want->name);
        /* verified while it was downloaded: only the verdict is left to take */
        struct img_stream *s = rtd_dl_take_verifier(fd, want->sha256);
        if (s) {
                r = img_stream_final(s, trusted, n_trusted, &m, err);
                img_stream_free(s);
        } else {
                r = img_verify_fd(fd, trusted, n_trusted, &m, err);
        }
        if (r < 0) {
                rp_err_prefix(err, "image '%s'", want->name);
                return err ? (err->code = -EKEYREJECTED) : -EKEYREJECTED;
        }
        if (m.type != type)
                return rp_err_set(err, -EKEYREJECTED, "image '%s' is a %s image, assigned as %s",
                                  want->name, img_type_name(m.type), img_type_name(type));
        if (strcmp(m.component_id, want->component_id) || strcmp(m.version, want->version) ||
            m.svn != want->svn)
                return rp_err_set(err, -EKEYREJECTED, "image '%s': the package says %s %s svn %u, the "
                                  "signed metadata say %s %s svn %" PRIu64, want->name,
                                  m.component_id, m.version, m.svn, want->component_id,
                                  want->version, want->svn);
        if (lseek(fd, 0, SEEK_SET) < 0)
                return rp_err_set(err, -errno, "cannot rewind '%s'", pkg);
        *ret_fd = steal_fd(fd);
        if (ret_meta)
                *ret_meta = m;
        return 0;
}
