/* lib_test.c - unit tests for src/lib: encoders, buffers, atomic writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/encode.h"
#include "lib/err.h"
#include "lib/fileio.h"

static void test_hex_roundtrip(void **state)
{
        const uint8_t in[] = {0x00, 0x01, 0x9a, 0xff, 0x10};
        char hex[11];
        uint8_t out[5];

        rp_hex_encode(in, sizeof(in), hex);
        assert_string_equal(hex, "00019aff10");
        assert_int_equal(rp_hex_decode(hex, out, sizeof(out)), 0);
        assert_memory_equal(in, out, sizeof(in));
        assert_int_equal(rp_hex_decode("00019aff1", out, 5), -EINVAL);
        assert_int_equal(rp_hex_decode("00019aff1g", out, 5), -EINVAL);
        assert_int_equal(rp_hex_decode("00019AFF10", out, 5), 0);
}

/* RFC 4648 section 10 vectors, in the URL alphabet without padding. */
static void test_b64url_vectors(void **state)
{
        static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
        static const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
        for (size_t i = 0; i < 7; i++) {
                char out[16];
                uint8_t *dec;
                size_t n;
                rp_b64url_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
                assert_string_equal(out, enc[i]);
                assert_int_equal(rp_b64url_encoded_len(strlen(plain[i])), strlen(enc[i]));
                assert_int_equal(rp_b64url_decode(enc[i], strlen(enc[i]), &dec, &n), 0);
                assert_int_equal(n, strlen(plain[i]));
                assert_memory_equal(dec, plain[i], n);
                free(dec);
        }
}

static void test_b64url_rejects(void **state)
{
        uint8_t *dec = NULL;
        size_t n;
        assert_int_equal(rp_b64url_decode("Zg==", 4, &dec, &n), -EINVAL);  /* padding */
        assert_int_equal(rp_b64url_decode("Zh", 2, &dec, &n), -EINVAL);    /* trailing bits */
        assert_int_equal(rp_b64url_decode("Z", 1, &dec, &n), -EINVAL);     /* impossible length */
        assert_int_equal(rp_b64url_decode("Zm+v", 4, &dec, &n), -EINVAL);  /* standard alphabet */
        assert_null(dec);
}

static void test_buf_cap(void **state)
{
        struct rp_buf b = {.max = 10};
        assert_int_equal(rp_buf_append(&b, "0123456789", 10), 0);
        assert_int_equal(rp_buf_append(&b, "x", 1), -EFBIG);
        assert_int_equal(b.len, 10);
        rp_buf_free(&b);
        struct rp_buf s = {.secret = true};
        for (int i = 0; i < 100; i++)
                assert_int_equal(rp_buf_printf(&s, "%d,", i), 0);
        assert_int_equal(rp_buf_terminate(&s), 0);
        assert_non_null(strstr((char *)s.data, "98,99,"));
        rp_buf_free(&s);
}

static void test_atomic_write(void **state)
{
        char dir[] = "/tmp/rp-lib-test-XXXXXX";
        char path[64];
        struct rp_err err = {0};
        uint8_t *d;
        size_t n;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/state", dir);
        assert_int_equal(rp_write_file_atomic(path, "one", 3, 0600, &err), 0);
        assert_int_equal(rp_write_file_atomic(path, "second", 6, 0600, &err), 0);
        assert_int_equal(rp_read_file(path, 100, &d, &n, &err), 0);
        assert_int_equal(n, 6);
        assert_string_equal((char *)d, "second");
        free(d);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(rp_read_file(path, 5, &d, &n, &err), -EFBIG);
        assert_non_null(strstr(err.msg, "larger than the limit"));
        assert_int_equal(rp_read_file("/nonexistent/x", 5, &d, &n, &err), -ENOENT);
        assert_int_equal(rp_rm_rf(dir), 0);
        assert_int_equal(stat(dir, &st), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hex_roundtrip),
                cmocka_unit_test(test_b64url_vectors),
                cmocka_unit_test(test_b64url_rejects),
                cmocka_unit_test(test_buf_cap),
                cmocka_unit_test(test_atomic_write),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
