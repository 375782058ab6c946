/* appctl.h - the request channel between an app (through librampart) and
 * rampartd, and the local control channel of `rampart dev`.
 *
 * Transport: a SOCK_SEQPACKET unix socket, one message per record. Each app
 * has its own listening socket, bound by rampartd in the app's private /etc
 * (the app sees it as RTD_APPCTL_PATH; no other app can reach it, since no
 * other app shares that mount), so the socket a request arrives on is the
 * app's identity; rampartd checks the peer's uid as well. The control socket
 * of `rampart dev` is DATA/run/control.sock, mode 0600 (root only).
 *
 * A message is a fixed header followed by at most RTD_APPCTL_MAX_PAYLOAD
 * bytes; a descriptor may travel with it (SCM_RIGHTS). A reply carries the
 * request's op, a status (0 or a negative errno) and, on failure, a message
 * for people as its payload. Everything received is untrusted: the framing
 * functions check every length and refuse a record that does not match its
 * header.
 *
 * Compiled into rampartd, librampart and the CLI alike. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define RTD_APPCTL_SOCK_NAME "rampart.sock"
#define RTD_APPCTL_PATH "/etc/" RTD_APPCTL_SOCK_NAME
#define RTD_APPCTL_MAX_PAYLOAD 16384
#define RTD_APPCTL_CONTROL_SOCK "run/control.sock"   /* relative to DATA */

enum rtd_appctl_op {
        /* app -> rampartd */
        RTD_OP_HELLO = 1,          /* reply payload: "<Name> <ComponentId> <version>" */
        RTD_OP_GPIO_OPEN = 2,      /* arg: pin; reply: descriptor */
        RTD_OP_UART_OPEN = 3,      /* payload: name; reply: descriptor */
        RTD_OP_I2C_OPEN = 4,       /* payload: name; reply: descriptor */
        RTD_OP_SPI_OPEN = 5,       /* payload: name; reply: descriptor */
        RTD_OP_NET_READY = 6,      /* reply arg: 1 ready, 0 not yet */
        RTD_OP_EVENTS = 7,         /* this connection receives RTD_OP_EVENT records from now on */
        RTD_OP_UPDATE_DEFER = 8,   /* arg: seconds (1..RTD_MAX_DEFER_S) */
        RTD_OP_UPDATE_RESUME = 9,  /* withdraws the app's deferral */
        RTD_OP_REBOOT = 10,
        RTD_OP_APP_CONNECT = 11,   /* payload: peer ComponentId; reply: descriptor */
        RTD_OP_APP_LISTEN = 12,    /* this connection receives RTD_OP_APP_INCOMING records */
        RTD_OP_TLS_CERT = 13,      /* reply payload: the app certificate (PEM) */
        RTD_OP_TLS_SIGN = 14,      /* payload: SHA-256 digest; reply: DER ECDSA signature */
        /* rampartd -> app, unsolicited */
        RTD_OP_EVENT = 32,         /* arg: enum rp_event_type (rampart/events.h); payload: text */
        RTD_OP_APP_INCOMING = 33,  /* payload: caller ComponentId; descriptor: the connection */
        /* rampart dev -> rampartd (control socket) */
        RTD_OP_DEV_SIDELOAD = 64,  /* descriptor: the package; reply payload: what was installed */
        RTD_OP_DEV_APPS = 65,      /* reply payload: JSON list of apps */
        RTD_OP_DEV_GRANT = 66,     /* payload: a development capability document */
        RTD_OP_DEV_REMOVE = 67,    /* payload: ComponentId */
};

#define RTD_MAX_DEFER_S (24 * 3600)

struct rtd_appctl_hdr {
        uint32_t op;
        int32_t status;
        uint32_t arg;
        uint32_t len;           /* payload bytes that follow */
};

/* Sends one record; `fd` (or -1) travels with it. */
int rtd_appctl_send(int sock, uint32_t op, int32_t status, uint32_t arg, const void *payload,
                    size_t len, int fd) RP_WUR;
/* Receives one record into *hdr and buf (cap bytes; the payload is
 * NUL-terminated when it fits, so cap should be one more than the largest
 * expected payload). *ret_fd (may be NULL: a descriptor then is closed)
 * gets a received descriptor or -1. Returns 0, -EPIPE at end of stream,
 * -EBADMSG for a malformed record. */
int rtd_appctl_recv(int sock, struct rtd_appctl_hdr *hdr, void *buf, size_t cap, int *ret_fd) RP_WUR;
