/* image_fuzz.c - libFuzzer harness for the image package parsers: the
 * streaming verifier (against a fixed trusted key, so the committed signed
 * samples reach the metadata parser), the unverified inspector, and the
 * ustar reader on the raw input. A package that verifies is also extracted
 * into a scratch directory, which is removed again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "image/image.h"
#include "image/internal.h"
#include "lib/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus samples are signed by the key of this seed (see
 * tests/fuzz/corpus/image/README). */
static const uint8_t fuzz_seed[32] = "rampart image fuzz key seed 0001";

struct mem {
        const uint8_t *p;
        size_t left;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
        struct mem *m = ctx;
        if (len > m->left)
                len = m->left;
        memcpy(buf, m->p, len);
        m->p += len;
        m->left -= len;
        return (ssize_t)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct cr_key *key;
        struct img_meta meta;
        struct img_info info;
        struct rp_err err;
        struct mem m = {data, size};
        int fd, r;

        if (!key && cr_key_from_seed(fuzz_seed, &key, NULL) < 0)
                abort();

        r = img_verify(mem_read, &m, &key, 1, &meta, &err);

        fd = memfd_create("image_fuzz", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        if (rp_write_all(fd, data, size) < 0)
                abort();
        (void)!img_inspect_fd(fd, &info, &err);
        if (r == 0) {
                char dir[] = "/tmp/image_fuzz.XXXXXX", dest[64];
                if (!mkdtemp(dir))
                        abort();
                snprintf(dest, sizeof(dest), "%s/out", dir);
                (void)!img_extract_fd(fd, &key, 1, dest, NULL, &meta, &err);
                if (rp_rm_rf(dir) < 0)
                        abort();
        }
        close(fd);

        m = (struct mem){data, size};
        (void)!img_tar_walk(mem_read, &m, size, NULL, NULL, NULL, &err);
        return 0;
}
