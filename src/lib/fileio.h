/* fileio.h - bounded file reads and crash-safe writes.
 *
 * Every state change on disk is: write a temp file in the same directory,
 * fsync it, rename over the target, fsync the directory. A power loss at any
 * point leaves either the old or the new content, never a mix. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/err.h"

/* Reads a whole file of at most `max` bytes. *ret_data is malloc'd with a
 * NUL after the last byte (not counted). -EFBIG if larger than max. */
int rp_read_file(const char *path, size_t max, uint8_t **ret_data, size_t *ret_len,
                 struct rp_err *err) RP_WUR;
/* Same, from an open descriptor (read to EOF). */
int rp_read_fd(int fd, size_t max, uint8_t **ret_data, size_t *ret_len) RP_WUR;

/* Atomically replaces `path` with `data` (mode applied to the new file). */
int rp_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         struct rp_err *err) RP_WUR;
/* Atomic rename + fsync of the directory holding `to`. */
int rp_rename_durable(const char *from, const char *to, struct rp_err *err) RP_WUR;
int rp_fsync_dir_of(const char *path) RP_WUR;
/* Writes all of buf, retrying on EINTR/short writes. */
int rp_write_all(int fd, const void *buf, size_t len) RP_WUR;
/* Reads exactly len bytes; -EPIPE on EOF before that. */
int rp_read_exact(int fd, void *buf, size_t len) RP_WUR;
/* mkdir -p with mode for created components. */
int rp_mkdir_p(const char *path, mode_t mode) RP_WUR;
/* rm -rf, without following symlinks. */
int rp_rm_rf(const char *path) RP_WUR;
