/* filter.h - the seccomp allowlist every app runs under.
 *
 * Built once per runtime process with libseccomp and exported as a BPF
 * program, so starting an app costs a single seccomp(2) call. Anything not
 * on the list fails with EPERM: mount and the new mount API, unshare, setns,
 * chroot, pivot_root, ptrace, process_vm_*, module loading, kexec, bpf,
 * perf_event_open, keyctl, userfaultfd, io_uring, open_by_handle_at, and
 * clone/clone3 with namespace flags. socket() is allowed only for AF_UNIX,
 * AF_NETLINK, and TCP/UDP over AF_INET/AF_INET6 (no raw or packet sockets,
 * no SCTP or MPTCP);
 * send*() with MSG_FASTOPEN (a connect that would bypass connect()) fails.
 * connect() and bind() raise a user notification for the egress firewall
 * (egress.h). */
#pragma once
#include <linux/filter.h>

#include "lib/err.h"

struct sbx_filter {
        struct sock_filter *insns;   /* owned */
        unsigned short len;
};

int sbx_filter_build(struct sbx_filter *ret, struct rp_err *err) RP_WUR;
void sbx_filter_free(struct sbx_filter *f);
/* Installs `f` on the calling thread (no_new_privs must be set) and returns
 * the notification listener descriptor, or a negative errno. */
int sbx_filter_install(const struct sbx_filter *f) RP_WUR;
