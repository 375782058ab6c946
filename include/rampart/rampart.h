/* rampart/rampart.h - librampart, the SDK for apps on a Rampart device.
 *
 * An app runs in its own compartment with only what its app_manifest.json
 * declares (docs/app-manifest.md). librampart is how it asks the device for
 * the rest: every request goes to rampartd over the app's private channel
 * (/etc/rampart.sock inside the compartment); rampartd checks the manifest
 * and answers. A call whose capability the manifest does not declare fails
 * with -EACCES, and a line naming the missing capability is written to the
 * app's log (and to the device log by rampartd).
 *
 * Conventions: functions return 0 (or a descriptor, >= 0) on success and a
 * negative errno on failure; descriptors returned belong to the caller
 * (close them). Thread-safe: requests on the shared channel are serialized.
 * Link with `pkg-config --libs rampart`. docs/sdk.md has examples. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RP_SDK_VERSION 1
/* Every fallible call's result must be looked at. */
#define RP_SDK_WUR __attribute__((warn_unused_result))

/* ---- identity and log ---- */
/* The app's Name and ComponentId (from its manifest), "" outside a compartment. */
const char *rp_app_name(void);
const char *rp_app_component_id(void);
/* Writes one line to the app's log (stderr, which the device keeps per app). */
void rp_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- mutable storage (MutableStorage) ---- */
/* Opens (flags as open(2): O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_TRUNC,
 * O_APPEND) the file `name` ([A-Za-z0-9._-], 1..64 bytes, not starting with
 * '.') in the app's storage. Writes beyond the declared SizeKB fail with
 * ENOSPC. */
int rp_storage_open(const char *name, int flags) RP_SDK_WUR;
int rp_storage_delete(const char *name) RP_SDK_WUR;
/* Writes all of buf, fsyncs; -ENOSPC when the quota is reached. */
int rp_storage_write_file(const char *name, const void *buf, size_t len) RP_SDK_WUR;

/* ---- the app's own image (read-only) ---- */
/* Opens a file of the image by its path inside the image ("etc/x.conf"). */
int rp_image_open(const char *path) RP_SDK_WUR;
/* The absolute path of an image file, for APIs that want a path. */
int rp_image_path(const char *path, char *out, size_t cap) RP_SDK_WUR;

/* ---- networking ---- */
/* *ret_ready: the runtime has addresses for the app's AllowedConnections. */
int rp_net_ready(bool *ret_ready) RP_SDK_WUR;

/* ---- system events (SystemEventNotifications, SoftwareUpdateDeferral) ---- */
enum rp_event_type {
        RP_EVENT_UPDATE_PENDING = 1,    /* text: the component being updated, or "os" */
        RP_EVENT_UPDATE_DONE = 2,       /* the pending update happened or was abandoned */
};
struct rp_event {
        enum rp_event_type type;
        char text[128];
};
/* A descriptor that becomes readable when an event arrives (poll it), or
 * -EACCES without SystemEventNotifications. Close it with close(2). */
int rp_events_open(void) RP_SDK_WUR;
/* Reads the next event from a descriptor of rp_events_open (blocks unless
 * the descriptor is non-blocking: then -EAGAIN). -EPIPE: rampartd went away. */
int rp_events_read(int fd, struct rp_event *ret) RP_SDK_WUR;
/* Asks the device to hold a pending update for `seconds` (1..86400). */
int rp_update_defer(unsigned seconds) RP_SDK_WUR;
/* Withdraws this app's deferral. */
int rp_update_resume(void) RP_SDK_WUR;

/* ---- power (PowerControls) ---- */
int rp_power_reboot(void) RP_SDK_WUR;     /* ForceReboot */

/* ---- peripherals of the board (Gpio, Uart, I2cMaster, SpiMaster) ---- */
/* Each returns a descriptor of the peripheral, which this app then owns
 * until it stops: -EACCES when the manifest does not declare it, -EBUSY
 * when another app owns it. */
int rp_gpio_open(unsigned pin) RP_SDK_WUR;
int rp_gpio_set(int fd, int value) RP_SDK_WUR;   /* 0 or 1 */
int rp_gpio_get(int fd, int *ret_value) RP_SDK_WUR;
int rp_uart_open(const char *name) RP_SDK_WUR;
int rp_i2c_open(const char *name) RP_SDK_WUR;
int rp_spi_open(const char *name) RP_SDK_WUR;

/* ---- inter-app connections (AllowedApplicationConnections) ---- */
/* A connected stream socket to the running app `component_id`; both
 * manifests must list each other. -ECONNREFUSED when it does not listen. */
int rp_app_connect(const char *component_id) RP_SDK_WUR;
/* Starts accepting connections from other apps: a descriptor to poll and
 * to pass to rp_app_accept. */
int rp_app_listen(void) RP_SDK_WUR;
/* The next connection (a stream socket); peer (37 bytes, may be NULL)
 * gets the caller's ComponentId. */
int rp_app_accept(int listen_fd, char *peer) RP_SDK_WUR;

#ifdef __cplusplus
}
#endif
