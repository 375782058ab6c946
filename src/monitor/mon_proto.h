/* mon_proto.h - the security monitor protocol: message framing and fields.
 *
 * One message per SOCK_SEQPACKET record (docs/monitor-protocol.md):
 *
 *   0  u16 magic 0x524d ("RM")      4  u32 body length (= record length - 8)
 *   2  u8  type                     8  body: fields, each
 *   3  u8  status (0 in requests)          u8 tag, u16 length, value
 *
 * Integers are big-endian. Replies carry the request's type | MON_REPLY.
 * Every size has a hard limit below; a record that breaks any rule is
 * refused as a whole. Pure code: no I/O, no allocation. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

#define MON_MAGIC 0x524d
#define MON_HDR_LEN 8
#define MON_MAX_BODY 16384
#define MON_MAX_MSG (MON_HDR_LEN + MON_MAX_BODY)
#define MON_MAX_FIELDS 40
#define MON_REPLY 0x80
#define MON_FIELD_HDR 3

enum mon_type {
        MON_BOOT_INFO = 1,
        MON_GET_CHAIN = 2,
        MON_ATTEST = 3,
        MON_TLS_KEY_CREATE = 4,
        MON_TLS_SIGN = 5,
        MON_TLS_KEY_DESTROY = 6,
        MON_COUNTER_READ = 7,
        MON_COUNTER_ADVANCE = 8,
        MON_CONFIRM = 9,
        MON_REBOOT = 10,
        MON_INSTALL_OS = 11,    /* the package arrives as an SCM_RIGHTS descriptor */
};

enum mon_status {
        MON_OK = 0,
        MON_E_MALFORMED = 1,    /* framing or field rules broken */
        MON_E_UNKNOWN_TYPE = 2,
        MON_E_TOO_LARGE = 3,    /* record over MON_MAX_MSG */
        MON_E_REFUSED = 4,      /* well-formed, but policy says no */
        MON_E_NOT_FOUND = 5,    /* unknown key handle */
        MON_E_NO_SPACE = 6,     /* key slots full */
        MON_E_INTERNAL = 7,
};

enum mon_tag {
        /* request fields */
        MON_T_NONCE = 1,        /* 8..64 bytes */
        MON_T_HANDLE = 2,       /* u32 */
        MON_T_SUBMOD = 3,       /* sha256[32] || name (1..64 of [A-Za-z0-9._-]) */
        MON_T_CN = 4,           /* 1..64 printable ASCII, no '"' or '\\' */
        MON_T_DIGEST = 5,       /* 32 bytes */
        MON_T_NAME = 6,         /* counter name, 1..31 of [a-z0-9._-] */
        MON_T_VALUE = 7,        /* u64 */
        MON_T_FORMAT = 8,       /* u8: 0 DER, 1 PEM */
        /* reply fields */
        MON_T_UEID = 16,        /* 40 hex chars */
        MON_T_SLOT = 17,        /* "a" | "b" */
        MON_T_OS_NAME = 18,
        MON_T_OS_VERSION = 19,
        MON_T_SVN = 20,         /* u64 */
        MON_T_BOOTCOUNT = 21,   /* u64 */
        MON_T_DEBUG = 22,       /* u8 */
        MON_T_LIFECYCLE = 23,   /* "provisioned" | "locked" */
        MON_T_TRIAL = 24,       /* u8; in install-os: trial boot attempts 1..15 */
        MON_T_FWID = 25,        /* 32 bytes */
        MON_T_CERT_DEVICEID = 32,
        MON_T_CERT_ALIAS = 33,
        MON_T_CERT_DEVICE_CA = 34,
        MON_T_EVIDENCE = 35,    /* JWS compact */
        MON_T_CSR = 36,         /* DER */
        MON_T_SIG = 37,         /* DER ECDSA signature */
        MON_T_ERROR = 48,       /* message text */
};

#define MON_NONCE_MIN 8
#define MON_NONCE_MAX 64
#define MON_MAX_SUBMODS 16
#define MON_SUBMOD_NAME_MAX 64
#define MON_CN_MAX 64
#define MON_MAX_TLS_KEYS 8

struct mon_field {
        uint8_t tag;
        uint16_t len;
        const uint8_t *val;     /* borrowed from the decoded buffer */
};

struct mon_msg {
        uint8_t type;
        uint8_t status;
        size_t n;
        struct mon_field f[MON_MAX_FIELDS];
};

/* Decodes one record: magic, body length equal to what is present, every
 * field inside the body, at most MON_MAX_FIELDS. Fields borrow `buf`. */
int mon_decode(const uint8_t *buf, size_t len, struct mon_msg *ret, struct rp_err *err) RP_WUR;
/* Checks a decoded request against its type's field rules (which tags,
 * how many, what lengths and characters). -ENOSYS for an unknown type,
 * -EBADMSG for a rule broken. */
int mon_request_check(const struct mon_msg *m, struct rp_err *err) RP_WUR;

/* Field access. get returns the first field with the tag, or NULL. */
const struct mon_field *mon_get(const struct mon_msg *m, uint8_t tag);
int mon_get_u32(const struct mon_msg *m, uint8_t tag, uint32_t *ret) RP_WUR;
int mon_get_u64(const struct mon_msg *m, uint8_t tag, uint64_t *ret) RP_WUR;
/* Copies a field as a C string (fails if it holds a NUL or is too long). */
int mon_get_str(const struct mon_msg *m, uint8_t tag, char *out, size_t cap) RP_WUR;

/* Encoder into a fixed buffer; overflow is sticky and reported by finish. */
struct mon_enc {
        uint8_t buf[MON_MAX_MSG];
        size_t len;
        size_t n_fields;
        bool overflow;
};
void mon_enc_init(struct mon_enc *e, uint8_t type, uint8_t status);
void mon_put(struct mon_enc *e, uint8_t tag, const void *val, size_t len);
void mon_put_u8(struct mon_enc *e, uint8_t tag, uint8_t v);
void mon_put_u32(struct mon_enc *e, uint8_t tag, uint32_t v);
void mon_put_u64(struct mon_enc *e, uint8_t tag, uint64_t v);
void mon_put_str(struct mon_enc *e, uint8_t tag, const char *s);
/* Writes the body length; -E2BIG if anything did not fit. */
int mon_enc_finish(struct mon_enc *e) RP_WUR;

const char *mon_type_name(uint8_t type);
const char *mon_status_name(uint8_t status);
