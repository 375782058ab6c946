/* keystore.c - the master key file and sealing with it (see keystore.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "lib/wipe.h"
#include "server/keystore.h"

int srv_keystore_open(const char *dir, struct srv_keystore *ret, struct rp_err *err)
{
        char path[600];
        snprintf(path, sizeof(path), "%s/master.key", dir);
        struct srv_keystore ks;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT) {
                if (cr_random(ks.key, sizeof(ks.key)) < 0)
                        return rp_err_set(err, -EIO, "no randomness for the master key");
                int r = rp_write_file_atomic(path, ks.key, sizeof(ks.key), 0600, err);
                if (r < 0) {
                        srv_keystore_wipe(&ks);
                        return r;
                }
                *ret = ks;
                srv_keystore_wipe(&ks);
                return 0;
        }
        if (fd < 0)
                return rp_err_set(err, -errno, "master key '%s': %s", path, strerror(errno));
        _cleanup_close_ int cfd = fd;
        struct stat sb;
        if (fstat(cfd, &sb) < 0)
                return rp_err_set(err, -errno, "master key '%s': %s", path, strerror(errno));
        if (!S_ISREG(sb.st_mode))
                return rp_err_set(err, -EINVAL, "master key '%s' is not a regular file", path);
        if (sb.st_mode & 077)
                return rp_err_set(err, -EPERM,
                                  "master key '%s' has mode %03o; it must not be readable by "
                                  "group or others (chmod 600)",
                                  path, (unsigned)(sb.st_mode & 0777));
        if (sb.st_size != SRV_MASTER_KEY_LEN)
                return rp_err_set(err, -EINVAL, "master key '%s' is %lld bytes, expected %d", path,
                                  (long long)sb.st_size, SRV_MASTER_KEY_LEN);
        if (rp_read_exact(cfd, ks.key, sizeof(ks.key)) < 0)
                return rp_err_set(err, -EIO, "master key '%s': short read", path);
        *ret = ks;
        srv_keystore_wipe(&ks);
        return 0;
}

void srv_keystore_wipe(struct srv_keystore *ks)
{
        rp_wipe(ks->key, sizeof(ks->key));
}

int srv_keystore_seal(const struct srv_keystore *ks, const char *aad, const void *plain,
                      size_t len, uint8_t **ret, size_t *ret_len, struct rp_err *err)
{
        return cr_aead_seal(ks->key, aad, strlen(aad), plain, len, ret, ret_len, err);
}

int srv_keystore_open_sealed(const struct srv_keystore *ks, const char *aad, const uint8_t *sealed,
                             size_t len, uint8_t **ret, size_t *ret_len, struct rp_err *err)
{
        return cr_aead_open(ks->key, aad, strlen(aad), sealed, len, ret, ret_len, err);
}
