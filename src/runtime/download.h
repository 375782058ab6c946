/* download.h - the update agent's transfers over mTLS (libcurl): the
 * check-in exchange (JSON in, JSON out, capped) and image downloads that
 * stream to disk, resume, and refuse anything but the expected bytes.
 *
 * Same TLS rules as http_client.h (server chain and name verified against
 * the configured CA, TLS 1.2+, https only, no redirects, no proxies); the
 * client certificate is the platform certificate whose key the monitor
 * holds.
 *
 * An image download (rtd_dl_image) writes to PART = DEST ".part":
 *  - resume: when PART holds N bytes, those are hashed again and the request
 *    asks for `Range: bytes=N-`; a 206 whose Content-Range starts at N is
 *    appended, a 200 restarts from zero, anything else fails;
 *  - length cap: a byte past the expected length aborts the transfer at
 *    once (PART keeps the expected prefix; an endless stream costs nothing);
 *  - minimum rate: fewer than min_rate bytes/s for low_speed_s seconds
 *    aborts (a stalled or trickling server cannot hold the agent);
 *  - constant memory: a fixed buffer, never the image;
 *  - at exactly the expected length, the SHA-256 over all bytes must equal
 *    the expected one; then PART is renamed to DEST (not synced: whoever
 *    uses DEST checks its hash or signature first, so a file torn by a
 *    power loss is refused, never used).
 *    A mismatch deletes PART (it can never become right).
 * Crash-injection point: "agent-download" (after each 1 MiB written). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "lib/err.h"

#define RTD_DL_MAX_CHECKIN_REPLY (4 * 1024 * 1024)
#define RTD_DL_CONNECT_TIMEOUT 10L
#define RTD_DL_JSON_TIMEOUT 60L
#define RTD_DL_DEFAULT_MIN_RATE 1024L   /* bytes/s */
#define RTD_DL_DEFAULT_LOW_SPEED_S 60L

struct cr_monitor_key;

struct rtd_dl {
        const char *base;               /* "https://host:port" */
        const char *ca_file;
        struct cr_monitor_key *client;  /* borrowed; the platform certificate's key */
        long min_rate;                  /* bytes/s; 0 = RTD_DL_DEFAULT_MIN_RATE */
        long low_speed_s;               /* 0 = RTD_DL_DEFAULT_LOW_SPEED_S */
};

/* POST `body` (JSON) to base+path; the reply body (at most `max` bytes) in
 * *ret (malloc'd, NUL-terminated), its status in *ret_status. Returns 0
 * when an HTTP exchange completed; -EHOSTUNREACH (no exchange), -EPERM
 * (TLS authentication), -EFBIG (reply over max). */
int rtd_dl_post_json(const struct rtd_dl *d, const char *path, const char *body, size_t max,
                     long *ret_status, char **ret, size_t *ret_len, struct rp_err *err) RP_WUR;

struct rtd_dl_result {
        uint64_t resumed_from;          /* bytes already held at the start */
        uint64_t received;              /* bytes received in this call */
};

/* Downloads base+path into dest (see above). 0 when dest holds exactly
 * `length` bytes hashing to `sha256`. -EAGAIN: interrupted (network,
 * too slow); PART kept for a resume. -EBADMSG: more bytes than the length,
 * or a wrong hash (PART removed for a wrong hash, truncated to the
 * expected prefix for excess bytes). -EPROTO: an HTTP status other than
 * 200/206 or a Content-Range that does not continue PART. */
int rtd_dl_image(const struct rtd_dl *d, const char *path, const char *dest, uint64_t length,
                 const uint8_t sha256[CR_SHA256_LEN], struct rtd_dl_result *ret,
                 struct rp_err *err) RP_WUR;

/* Every image download also feeds its bytes (resumed prefix included) to
 * an img_stream verifier. The one of the last completed download is kept
 * until taken: rtd_dl_take_verifier returns it (the caller frees it and
 * finalises it with the keys it trusts) when fd is still that file --
 * same device, inode, size, mtime and ctime -- and sha256 is the hash it
 * was downloaded against; otherwise NULL (verify the file instead). Taking
 * it, or any later download, drops it. */
struct img_stream;
struct img_stream *rtd_dl_take_verifier(int fd, const uint8_t sha256[CR_SHA256_LEN]);

/* SHA-256 and length of a file, streamed (constant memory). */
int rtd_dl_hash_file(const char *path, uint8_t out[CR_SHA256_LEN], uint64_t *ret_len,
                     struct rp_err *err) RP_WUR;
