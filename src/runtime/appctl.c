/* appctl.c - framing for the app and control channels; see appctl.h. */
#include "runtime/appctl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int rtd_appctl_send(int sock, uint32_t op, int32_t status, uint32_t arg, const void *payload,
                    size_t len, int fd)
{
        struct rtd_appctl_hdr h = { .op = op, .status = status, .arg = arg, .len = (uint32_t)len };
        struct iovec iov[2] = { { .iov_base = &h, .iov_len = sizeof(h) },
                                { .iov_base = (void *)payload, .iov_len = len } };
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
        ssize_t n;

        if (len > RTD_APPCTL_MAX_PAYLOAD)
                return -EMSGSIZE;
        if (fd >= 0) {
                memset(cbuf, 0, sizeof(cbuf));
                msg.msg_control = cbuf;
                msg.msg_controllen = sizeof(cbuf);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        return (size_t)n == sizeof(h) + len ? 0 : -EIO;
}

int rtd_appctl_recv(int sock, struct rtd_appctl_hdr *hdr, void *buf, size_t cap, int *ret_fd)
{
        char cbuf[CMSG_SPACE(sizeof(int) * 4)];
        struct rtd_appctl_hdr h;
        struct iovec iov[2] = { { .iov_base = &h, .iov_len = sizeof(h) },
                                { .iov_base = buf, .iov_len = cap } };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf,
                              .msg_controllen = sizeof(cbuf) };
        int fd = -1, bad = 0;
        ssize_t n;

        if (ret_fd)
                *ret_fd = -1;
        while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < nfd; i++) {
                        int x;
                        memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (fd < 0 && i == 0)
                                fd = x;
                        else {
                                close(x);       /* one descriptor per record, at most */
                                bad = 1;
                        }
                }
        }
        if (bad || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(h) ||
            h.len > RTD_APPCTL_MAX_PAYLOAD || (size_t)n != sizeof(h) + h.len) {
                if (fd >= 0)
                        close(fd);
                return -EBADMSG;
        }
        if (h.len < cap)
                ((char *)buf)[h.len] = '\0';
        if (ret_fd)
                *ret_fd = fd;
        else if (fd >= 0)
                close(fd);
        *hdr = h;
        return 0;
}
