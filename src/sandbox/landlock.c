/* landlock.c - see landlock.h. Constants newer than the system headers are
 * defined here from the kernel ABI, which is stable. */
#include "sandbox/landlock.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* The ABI 6 layout (fs, net, scoped); older kernels take a prefix. */
struct ruleset_attr {
        uint64_t handled_access_fs;
        uint64_t handled_access_net;
        uint64_t scoped;
};

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_EXEC LANDLOCK_ACCESS_FS_EXECUTE
#define FS_WRITE_V1 (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
                     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | \
                     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SYM | \
                     LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SOCK)
#define FS_ALL_V1 (FS_READ | FS_EXEC | FS_WRITE_V1 | LANDLOCK_ACCESS_FS_MAKE_CHAR | \
                   LANDLOCK_ACCESS_FS_MAKE_BLOCK)

int sbx_landlock_abi(void)
{
        long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        return v < 0 ? 0 : (int)v;
}

int sbx_landlock_apply(const struct sbx_landlock_path *paths, unsigned n, struct rp_err *err)
{
        int abi = sbx_landlock_abi();
        struct ruleset_attr attr = {0};
        size_t attr_size;
        uint64_t fs_all = FS_ALL_V1, write = FS_WRITE_V1;

        if (abi <= 0)
                return 0;
        if (abi >= 2) {
                fs_all |= LANDLOCK_ACCESS_FS_REFER;
                write |= LANDLOCK_ACCESS_FS_REFER;
        }
        if (abi >= 3) {
                fs_all |= LANDLOCK_ACCESS_FS_TRUNCATE;
                write |= LANDLOCK_ACCESS_FS_TRUNCATE;
        }
        if (abi >= 5)
                fs_all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
        attr.handled_access_fs = fs_all;
        attr_size = sizeof(uint64_t);
        if (abi >= 4) {
                attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
                attr_size = 2 * sizeof(uint64_t);
        }
        if (abi >= 6) {
                attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
                attr_size = sizeof(attr);
        }
        _cleanup_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
        if (rs < 0)
                return rp_err_set(err, -errno, "landlock: create_ruleset (ABI %d): %s", abi, strerror(errno));
        for (unsigned i = 0; i < n; i++) {
                _cleanup_close_ int pfd = open(paths[i].path, O_PATH | O_CLOEXEC);
                struct landlock_path_beneath_attr pb = {0};
                if (pfd < 0)
                        return rp_err_set(err, -errno, "landlock: cannot open '%s': %s", paths[i].path,
                                          strerror(errno));
                pb.parent_fd = pfd;
                pb.allowed_access = FS_READ | (paths[i].exec ? FS_EXEC : 0) | (paths[i].write ? write : 0);
                /* a regular file takes only file rights */
                struct stat st;
                if (fstat(pfd, &st) == 0 && !S_ISDIR(st.st_mode))
                        pb.allowed_access &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                             LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_TRUNCATE;
                pb.allowed_access &= fs_all;
                if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
                        return rp_err_set(err, -errno, "landlock: rule for '%s': %s", paths[i].path,
                                          strerror(errno));
        }
        if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
                return rp_err_set(err, -errno, "landlock: restrict_self: %s", strerror(errno));
        return abi;
}
