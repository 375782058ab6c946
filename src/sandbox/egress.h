/* egress.h - the per-app egress firewall, enforced by the runtime.
 *
 * The app's network namespace holds only a loopback interface, and its
 * seccomp filter turns every connect() and bind() into a user notification
 * that this module answers from outside the namespace. For an IPv4/IPv6
 * socket the runtime reads the address once from the app's memory, checks
 * it against the current resolution of the manifest's AllowedConnections
 * (or AllowedTcpServerPorts for bind), and then creates, connects (or binds)
 * a socket itself in the host namespace and installs it in place of the
 * app's descriptor. The app never gets to re-read or change the address it
 * asked for after the check, so there is no time-of-check/time-of-use race.
 *
 * Names are resolved by the runtime only: from the system resolver, or from
 * a hosts file (tests, or a device that pins its addresses). The app sees
 * the runtime's current answers in its /etc/hosts, which the runtime
 * rewrites when they change. Denials answer EACCES. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "image/manifest.h"
#include "lib/err.h"

#define SBX_EGRESS_MAX_ADDRS 256      /* resolved addresses kept per app */
#define SBX_EGRESS_MAX_HOSTS_FILE (256 * 1024)
#define SBX_EGRESS_DNS_TTL_MS 5000    /* system-resolver answers reused this long */
#define SBX_EGRESS_CONNECT_TIMEOUT_MS 10000
#define SBX_EGRESS_FDINFO_CACHE 4
#define SBX_EGRESS_MAX_PARKED 32      /* slow connects finished by the worker at once */

struct sbx_egress_addr {
        int family;                   /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        uint16_t port;                /* 0: any port */
        uint16_t conn;                /* index into manifest conns */
};

struct sbx_egress {
        const struct img_manifest *m; /* borrowed; outlives the egress */
        char hosts_file[4096];        /* "" = system resolver */
        int etc_fd;                   /* the app's /etc (writable side); -1 none */
        size_t n;
        struct sbx_egress_addr allow[SBX_EGRESS_MAX_ADDRS];
        struct timespec hosts_mtime;  /* hosts-file stamp of the last resolution */
        dev_t hosts_dev;
        ino_t hosts_ino;
        off_t hosts_size;
        uint64_t resolved_at_ms;
        bool resolved;
        char *app_hosts;              /* the app's /etc/hosts for the current answers */
        void *req, *resp;             /* seccomp notification buffers */
        pid_t cached_tid;             /* the last task that asked, and handles on it */
        int cached_pidfd, cached_fdinfo;
        /* open /proc/TID/fdinfo/N files of that task, by descriptor number
         * (re-read with pread: each read shows what N is now) */
        int fdinfo_num[SBX_EGRESS_FDINFO_CACHE], fdinfo_file[SBX_EGRESS_FDINFO_CACHE];
        unsigned fdinfo_next;
        bool has_names;               /* AllowedConnections names something to resolve */
        /* the connect worker: a thread started on the first connect that is
         * not done at once; it finishes such connects (wait, hand over,
         * answer) so the app's other requests are not held up behind them */
        int park_rd, park_wr;         /* pipe of parked connects; -1: no worker */
        int park_notify;              /* the worker's own duplicate of the listener */
        pthread_t worker;
        unsigned parked;              /* connects in the worker's hands (atomic) */
        unsigned long n_allowed, n_denied;
};

/* Prepares the firewall for manifest `m` and resolves the declared names
 * once (eg->app_hosts then holds the app's hosts file). `hosts_file` (may
 * be NULL) makes the runtime resolve names from that file only. */
int sbx_egress_init(struct sbx_egress *eg, const struct img_manifest *m, const char *hosts_file,
                    struct rp_err *err) RP_WUR;
/* Hands over a descriptor of the directory the app sees as /etc (the
 * egress owns it from now on) and writes the current hosts file into it;
 * later refreshes rewrite it there, atomically, when the answers change. */
int sbx_egress_set_etc(struct sbx_egress *eg, int etc_fd, struct rp_err *err) RP_WUR;
void sbx_egress_done(struct sbx_egress *eg);

/* Re-resolves the declared names when the source changed (hosts file stamp,
 * or the DNS TTL ran out; `force` always) and rewrites the app's hosts file
 * when the answers differ. */
int sbx_egress_refresh(struct sbx_egress *eg, bool force, struct rp_err *err) RP_WUR;

/* Policy checks on an address the runtime has already copied out of the
 * app: 0 when allowed, -EACCES otherwise. IPv4-mapped IPv6 addresses are
 * checked as the IPv4 address they carry. */
int sbx_egress_check_connect(const struct sbx_egress *eg, const struct sockaddr *sa,
                             socklen_t len) RP_WUR;
int sbx_egress_check_bind(const struct sbx_egress *eg, int type, const struct sockaddr *sa,
                          socklen_t len) RP_WUR;

/* Receives and answers one notification from `notify_fd`. Returns 0 when
 * one was handled (whatever the verdict, or handed to the connect worker),
 * -ENOENT when the target went away, other negative codes on a broken
 * listener. A connect the host's kernel cannot finish at once goes to the
 * egress's own worker thread (at most SBX_EGRESS_MAX_PARKED at a time,
 * further ones wait inline), which answers it when it completes, fails or
 * times out; the worker calls no allocator or stdio, so a process the
 * runtime clones meanwhile inherits no lock it holds. */
int sbx_egress_handle(struct sbx_egress *eg, int notify_fd) RP_WUR;
