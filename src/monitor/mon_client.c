/* mon_client.c - see mon_client.h. */
#include "monitor/mon_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

static struct mon_enc *enc_new(uint8_t type)
{
        struct mon_enc *e = malloc(sizeof(*e));
        if (e)
                mon_enc_init(e, type, 0);
        return e;
}

int mon_client_from_env(struct mon_client *c, struct rp_err *err)
{
        const char *s = getenv("RAMPART_MONITOR_FD");
        char *end;
        long fd;

        if (!s || !*s)
                return rp_err_set(err, -ENOENT, "RAMPART_MONITOR_FD is not set: not started by "
                                  "rampart-boot");
        fd = strtol(s, &end, 10);
        if (*end || fd < 0 || fd > 65535)
                return rp_err_set(err, -EINVAL, "RAMPART_MONITOR_FD '%s' is not a descriptor", s);
        c->fd = (int)fd;
        return 0;
}

/* Sends one record, with `pass_fd` attached as SCM_RIGHTS when >= 0. */
static ssize_t send_record(int sock, const void *req, size_t len, int pass_fd)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } cm;
        struct iovec iov = {(void *)req, len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        if (pass_fd >= 0) {
                memset(&cm, 0, sizeof(cm));
                mh.msg_control = cm.buf;
                mh.msg_controllen = sizeof(cm.buf);
                cm.h.cmsg_level = SOL_SOCKET;
                cm.h.cmsg_type = SCM_RIGHTS;
                cm.h.cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(&cm.h), &pass_fd, sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static int call_fd(struct mon_client *c, const void *req, size_t len, int pass_fd,
                   struct rp_err *err)
{
        ssize_t n;
        int r;

        do
                n = send_record(c->fd, req, len, pass_fd);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return rp_err_set(err, -errno, "cannot send to the monitor: %s", strerror(errno));
        do
                n = recv(c->fd, c->rbuf, sizeof(c->rbuf), MSG_TRUNC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return rp_err_set(err, -errno, "cannot receive from the monitor: %s",
                                  strerror(errno));
        if (n == 0)
                return rp_err_set(err, -EPIPE, "the monitor closed the connection");
        if ((size_t)n > sizeof(c->rbuf))
                return rp_err_set(err, -EBADMSG, "monitor reply of %zd bytes is over the limit",
                                  n);
        r = mon_decode(c->rbuf, (size_t)n, &c->reply, err);
        if (r < 0)
                return rp_err_prefix(err, "monitor reply");
        if (c->reply.status != MON_OK) {
                char msg[RP_ERR_MSG_MAX] = "";
                if (mon_get_str(&c->reply, MON_T_ERROR, msg, sizeof(msg)) < 0)
                        msg[0] = 0;
                return rp_err_set(err, -EPROTO, "monitor refused %s (%s): %s",
                                  mon_type_name(c->reply.type), mon_status_name(c->reply.status),
                                  msg);
        }
        return 0;
}

int mon_call_raw(struct mon_client *c, const void *req, size_t len, struct rp_err *err)
{
        return call_fd(c, req, len, -1, err);
}

int mon_call(struct mon_client *c, const struct mon_enc *req, struct rp_err *err)
{
        int r = mon_call_raw(c, req->buf, req->len, err);
        if (r == 0 && c->reply.type != (req->buf[2] | MON_REPLY))
                return rp_err_set(err, -EBADMSG, "monitor replied to type %u, asked %u",
                                  c->reply.type, req->buf[2]);
        return r;
}

/* Encodes, finishes and calls. */
static int call(struct mon_client *c, struct mon_enc *e, struct rp_err *err)
{
        int r;
        if (!e)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = mon_enc_finish(e);
        if (r < 0)
                r = rp_err_set(err, r, "monitor request does not fit the message limit");
        else
                r = mon_call(c, e, err);
        free(e);
        return r;
}

static int copy_field(const struct mon_msg *m, uint8_t tag, uint8_t **ret, size_t *ret_len)
{
        const struct mon_field *f = mon_get(m, tag);
        uint8_t *d;
        if (!f)
                return -ENOENT;
        d = malloc(f->len + 1u);
        if (!d)
                return -ENOMEM;
        memcpy(d, f->val, f->len);
        d[f->len] = 0;
        *ret = d;
        *ret_len = f->len;
        return 0;
}

int mon_boot_info(struct mon_client *c, struct mon_boot_info *ret, struct rp_err *err)
{
        struct mon_boot_info b = {0};
        const struct mon_field *f;
        int r = call(c, enc_new(MON_BOOT_INFO), err);

        if (r < 0)
                return r;
        if (mon_get_str(&c->reply, MON_T_UEID, b.ueid, sizeof(b.ueid)) < 0 ||
            mon_get_str(&c->reply, MON_T_SLOT, b.slot, sizeof(b.slot)) < 0 ||
            mon_get_str(&c->reply, MON_T_OS_NAME, b.os_name, sizeof(b.os_name)) < 0 ||
            mon_get_str(&c->reply, MON_T_OS_VERSION, b.os_version, sizeof(b.os_version)) < 0 ||
            mon_get_str(&c->reply, MON_T_LIFECYCLE, b.lifecycle, sizeof(b.lifecycle)) < 0 ||
            mon_get_u64(&c->reply, MON_T_SVN, &b.svn) < 0 ||
            mon_get_u64(&c->reply, MON_T_BOOTCOUNT, &b.bootcount) < 0)
                return rp_err_set(err, -EBADMSG, "boot-info reply lacks a field");
        f = mon_get(&c->reply, MON_T_DEBUG);
        b.debug = f && f->len == 1 && f->val[0];
        f = mon_get(&c->reply, MON_T_TRIAL);
        b.trial = f && f->len == 1 && f->val[0];
        f = mon_get(&c->reply, MON_T_FWID);
        if (f && f->len == 32)
                memcpy(b.fwid, f->val, 32);
        *ret = b;
        return 0;
}

int mon_get_chain(struct mon_client *c, bool pem, uint8_t **ret_deviceid, size_t *ret_deviceid_len,
                  uint8_t **ret_alias, size_t *ret_alias_len, uint8_t **ret_ca,
                  size_t *ret_ca_len, struct rp_err *err)
{
        struct mon_enc *e = enc_new(MON_GET_CHAIN);
        uint8_t *d = NULL, *a = NULL, *ca = NULL;
        size_t dl, al, cl = 0;
        int r;

        if (e)
                mon_put_u8(e, MON_T_FORMAT, pem ? 1 : 0);
        r = call(c, e, err);
        if (r < 0)
                return r;
        if (copy_field(&c->reply, MON_T_CERT_DEVICEID, &d, &dl) < 0 ||
            copy_field(&c->reply, MON_T_CERT_ALIAS, &a, &al) < 0) {
                free(d);
                return rp_err_set(err, -EBADMSG, "get-chain reply lacks a certificate");
        }
        if (mon_get(&c->reply, MON_T_CERT_DEVICE_CA) &&
            copy_field(&c->reply, MON_T_CERT_DEVICE_CA, &ca, &cl) < 0) {
                free(d);
                free(a);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        *ret_deviceid = d;
        *ret_deviceid_len = dl;
        *ret_alias = a;
        *ret_alias_len = al;
        if (ret_ca) {
                *ret_ca = ca;
                *ret_ca_len = cl;
        } else {
                free(ca);
        }
        return 0;
}

int mon_attest(struct mon_client *c, const uint8_t *nonce, size_t nonce_len, uint32_t key_handle,
               const struct mon_submod *submods, size_t n_submods, char **ret_jws,
               struct rp_err *err)
{
        struct mon_enc *e = enc_new(MON_ATTEST);
        uint8_t *jws;
        size_t n;
        int r;

        if (e) {
                mon_put(e, MON_T_NONCE, nonce, nonce_len);
                if (key_handle)
                        mon_put_u32(e, MON_T_HANDLE, key_handle);
                for (size_t i = 0; i < n_submods; i++) {
                        uint8_t v[32 + 256];
                        size_t nl = strlen(submods[i].name);
                        if (nl > sizeof(v) - 32)
                                nl = sizeof(v) - 32;
                        memcpy(v, submods[i].digest, 32);
                        memcpy(v + 32, submods[i].name, nl);
                        mon_put(e, MON_T_SUBMOD, v, 32 + nl);
                }
        }
        r = call(c, e, err);
        if (r < 0)
                return r;
        if (copy_field(&c->reply, MON_T_EVIDENCE, &jws, &n) < 0)
                return rp_err_set(err, -EBADMSG, "attest reply lacks the evidence");
        *ret_jws = (char *)jws;
        return 0;
}

int mon_tls_key_create(struct mon_client *c, const char *cn, uint32_t *ret_handle,
                       uint8_t **ret_csr_der, size_t *ret_len, struct rp_err *err)
{
        struct mon_enc *e = enc_new(MON_TLS_KEY_CREATE);
        uint32_t h;
        int r;

        if (e && cn)
                mon_put_str(e, MON_T_CN, cn);
        r = call(c, e, err);
        if (r < 0)
                return r;
        if (mon_get_u32(&c->reply, MON_T_HANDLE, &h) < 0 ||
            copy_field(&c->reply, MON_T_CSR, ret_csr_der, ret_len) < 0)
                return rp_err_set(err, -EBADMSG, "tls-key-create reply lacks a field");
        *ret_handle = h;
        return 0;
}

int mon_tls_sign(struct mon_client *c, uint32_t handle, const uint8_t digest[32],
                 uint8_t **ret_sig_der, size_t *ret_len, struct rp_err *err)
{
        struct mon_enc *e = enc_new(MON_TLS_SIGN);
        int r;

        if (e) {
                mon_put_u32(e, MON_T_HANDLE, handle);
                mon_put(e, MON_T_DIGEST, digest, 32);
        }
        r = call(c, e, err);
        if (r < 0)
                return r;
        if (copy_field(&c->reply, MON_T_SIG, ret_sig_der, ret_len) < 0)
                return rp_err_set(err, -EBADMSG, "tls-sign reply lacks the signature");
        return 0;
}

int mon_tls_key_destroy(struct mon_client *c, uint32_t handle, struct rp_err *err)
{
        struct mon_enc *e = enc_new(MON_TLS_KEY_DESTROY);
        if (e)
                mon_put_u32(e, MON_T_HANDLE, handle);
        return call(c, e, err);
}

static int counter(struct mon_client *c, uint8_t type, const char *name, const uint64_t *value,
                   uint64_t *ret, struct rp_err *err)
{
        struct mon_enc *e = enc_new(type);
        int r;

        if (e) {
                mon_put_str(e, MON_T_NAME, name);
                if (value)
                        mon_put_u64(e, MON_T_VALUE, *value);
        }
        r = call(c, e, err);
        if (r < 0)
                return r;
        if (mon_get_u64(&c->reply, MON_T_VALUE, ret) < 0)
                return rp_err_set(err, -EBADMSG, "counter reply lacks the value");
        return 0;
}

int mon_counter_read(struct mon_client *c, const char *name, uint64_t *ret, struct rp_err *err)
{
        return counter(c, MON_COUNTER_READ, name, NULL, ret, err);
}

int mon_counter_advance(struct mon_client *c, const char *name, uint64_t value, uint64_t *ret,
                        struct rp_err *err)
{
        return counter(c, MON_COUNTER_ADVANCE, name, &value, ret, err);
}

int mon_confirm(struct mon_client *c, struct rp_err *err)
{
        return call(c, enc_new(MON_CONFIRM), err);
}

int mon_reboot(struct mon_client *c, struct rp_err *err)
{
        return call(c, enc_new(MON_REBOOT), err);
}

int mon_install_os(struct mon_client *c, int fd, unsigned attempts, char ret_slot[2],
                   struct rp_err *err)
{
        struct mon_enc *e = enc_new(MON_INSTALL_OS);
        int r;

        if (!e)
                return rp_err_set(err, -ENOMEM, "out of memory");
        mon_put_u8(e, MON_T_TRIAL, (uint8_t)attempts);
        r = mon_enc_finish(e);
        if (r == 0)
                r = call_fd(c, e->buf, e->len, fd, err);
        free(e);
        if (r < 0)
                return r;
        if (mon_get_str(&c->reply, MON_T_SLOT, ret_slot, 2) < 0)
                return rp_err_set(err, -EBADMSG, "install-os reply lacks the slot");
        return 0;
}
