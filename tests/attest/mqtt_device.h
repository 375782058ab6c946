/* mqtt_device.h - an MQTT 3.1.1 CONNECT over TLS whose client key is held
 * by the security monitor (crypto/monitor_key.h routes each handshake
 * signature to the monitor's tls-sign request). Used by the relying-party
 * test to show that a broker accepts a device that never held its key. */
#pragma once
#include <stdint.h>

#include "crypto/crypto.h"
#include "lib/err.h"
#include "monitor/mon_client.h"

/* Connects to host:port, verifies the broker against ca_file, presents
 * `cert` with the monitor key `handle`, sends CONNECT and reads CONNACK.
 * Returns 0 with *ret_rc = the CONNACK return code (0 = accepted), or a
 * negative code when the TLS handshake or the connection failed. */
int att_mqtt_connect(const char *host, int port, const char *ca_file, struct cr_cert *cert,
                     struct mon_client *mon, uint32_t handle, const char *client_id,
                     int *ret_rc, struct rp_err *err) RP_WUR;
