/* attest_forge.c - test tool: the enroll body of an emulated device.
 *
 *   rampart-attest-forge --dir DEV --nonce N [OS and forgery options] --out FILE
 *     simulates the device's boot measurement in-process (attest_sim.c) and
 *     writes the JSON enroll body; forgery flags make each input the
 *     verifier must refuse. --key-out writes the TLS private key (a relying-
 *     party test needs it as a file).
 *   rampart-attest-forge --monitor --nonce N --out FILE   (under rampart-boot)
 *   rampart-attest-forge --monitor --info-out FILE        (under rampart-boot)
 *     asks the real monitor over RAMPART_MONITOR_FD instead.
 *   ... --monitor --nonce N --out FILE --cert-in CERT --mqtt IP:PORT --mqtt-ca CA
 *     then waits for the issued certificate to appear in CERT and connects
 *     to an MQTT broker with it, the key staying in the monitor; exits 0
 *     when the broker accepted (CONNACK 0), 4 when it refused. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"
#include "monitor/mon_client.h"
#include "attest_sim.h"
#include "mqtt_device.h"

/* Written to a temporary name and renamed, so a reader polling for the
 * file never sees half of it. */
static int write_text(const char *path, const char *s)
{
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (!f || fputs(s, f) < 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
                fprintf(stderr, "attest-forge: cannot write '%s'\n", path);
                return -1;
        }
        return 0;
}

struct mqtt_opts {
        const char *cert_in, *hostport, *ca;
};

/* Waits up to 60 s for the certificate file, then connects to the broker
 * with it and the monitor-held key `handle`. */
static int mqtt_mode(struct mon_client *c, uint32_t handle, const struct mqtt_opts *m)
{
        struct rp_err e = {0};
        struct cr_cert *cert = NULL;
        char host[64];
        int port = 0, rc = -1;
        const char *colon = strrchr(m->hostport, ':');
        if (!colon || (size_t)(colon - m->hostport) >= sizeof(host)) {
                fprintf(stderr, "attest-forge: --mqtt wants IP:PORT\n");
                return 2;
        }
        memcpy(host, m->hostport, (size_t)(colon - m->hostport));
        host[colon - m->hostport] = 0;
        port = atoi(colon + 1);
        for (int i = 0; i < 600 && access(m->cert_in, R_OK) != 0; i++)
                usleep(100 * 1000);
        if (cr_cert_load_pem(m->cert_in, &cert, &e) < 0) {
                fprintf(stderr, "attest-forge: %s\n", e.msg);
                return 1;
        }
        int r = att_mqtt_connect(host, port, m->ca, cert, c, handle, "rampart-device", &rc, &e);
        cr_cert_free(cert);
        if (r < 0) {
                printf("refused: %s\n", e.msg);
                return 4;
        }
        printf("connack rc=%d\n", rc);
        return rc == 0 ? 0 : 4;
}

static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return -1;
        uint8_t *buf = malloc(65536);
        size_t n = buf ? fread(buf, 1, 65536, f) : 0;
        fclose(f);
        if (!buf)
                return -1;
        *ret = buf;
        *ret_len = n;
        return 0;
}

static int monitor_mode(const char *nonce_b64, const char *purpose, const char *out,
                        const char *info_out, const struct mqtt_opts *mq)
{
        static struct mon_client c;
        struct rp_err e = {0};
        if (mon_client_from_env(&c, &e) < 0) {
                fprintf(stderr, "attest-forge: %s\n", e.msg);
                return 1;
        }
        if (info_out) {
                struct mon_boot_info bi;
                char fwid[65];
                if (mon_boot_info(&c, &bi, &e) < 0) {
                        fprintf(stderr, "attest-forge: %s\n", e.msg);
                        return 1;
                }
                rp_hex_encode(bi.fwid, 32, fwid);
                json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:s,s:b}", "ueid", bi.ueid, "os_name",
                                      bi.os_name, "os_version", bi.os_version, "svn",
                                      (json_int_t)bi.svn, "fwid", fwid, "debug", bi.debug);
                _cleanup_free_ char *t = json_dumps(j, JSON_COMPACT);
                json_decref(j);
                if (!t || write_text(info_out, t) < 0)
                        return 1;
        }
        if (!nonce_b64)
                return 0;
        _cleanup_free_ uint8_t *nonce = NULL;
        _cleanup_free_ uint8_t *csr = NULL;
        _cleanup_free_ uint8_t *d = NULL;
        _cleanup_free_ uint8_t *a = NULL;
        _cleanup_free_ uint8_t *ca = NULL;
        _cleanup_free_ char *jws = NULL;
        size_t nl = 0, cl = 0, dl = 0, al = 0, cal = 0;
        uint32_t h = 0;
        if (rp_b64url_decode(nonce_b64, strlen(nonce_b64), &nonce, &nl) < 0) {
                fprintf(stderr, "attest-forge: bad nonce\n");
                return 2;
        }
        if (mon_tls_key_create(&c, NULL, &h, &csr, &cl, &e) < 0 ||
            mon_attest(&c, nonce, nl, h, NULL, 0, &jws, &e) < 0 ||
            mon_get_chain(&c, true, &d, &dl, &a, &al, &ca, &cal, &e) < 0) {
                fprintf(stderr, "attest-forge: %s\n", e.msg);
                return 1;
        }
        _cleanup_free_ char *csr_b64 = att_b64(csr, cl);
        json_t *j = json_pack("{s:s,s:s,s:[s#,s#,s#],s:s}", "csr", csr_b64, "evidence", jws,
                              "chain", (const char *)d, strnlen((const char *)d, dl),
                              (const char *)a, strnlen((const char *)a, al), (const char *)ca,
                              strnlen((const char *)ca, cal), "purpose", purpose);
        _cleanup_free_ char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!t || write_text(out, t) < 0)
                return 1;
        if (mq->cert_in && mq->hostport && mq->ca)
                return mqtt_mode(&c, h, mq);
        return 0;
}

int main(int argc, char **argv)
{
        enum { O_DIR = 256, O_NONCE, O_OSN, O_OSV, O_SVN, O_FWID, O_PURPOSE, O_OUT, O_KEYOUT,
               O_ALIAS, O_EVID, O_UEID, O_UNBOUND, O_NOBIND, O_CSRFILE, O_MONITOR, O_INFO,
               O_CERTIN, O_MQTT, O_MQTTCA };
        static const struct option opts[] = {
                {"dir", required_argument, NULL, O_DIR},
                {"nonce", required_argument, NULL, O_NONCE},
                {"os-name", required_argument, NULL, O_OSN},
                {"os-version", required_argument, NULL, O_OSV},
                {"svn", required_argument, NULL, O_SVN},
                {"fwid", required_argument, NULL, O_FWID},
                {"purpose", required_argument, NULL, O_PURPOSE},
                {"out", required_argument, NULL, O_OUT},
                {"key-out", required_argument, NULL, O_KEYOUT},
                {"alias-by-stranger", no_argument, NULL, O_ALIAS},
                {"evidence-by-stranger", no_argument, NULL, O_EVID},
                {"ueid-claim", required_argument, NULL, O_UEID},
                {"unbound-csr", no_argument, NULL, O_UNBOUND},
                {"no-binding", no_argument, NULL, O_NOBIND},
                {"csr-file", required_argument, NULL, O_CSRFILE},
                {"monitor", no_argument, NULL, O_MONITOR},
                {"info-out", required_argument, NULL, O_INFO},
                {"cert-in", required_argument, NULL, O_CERTIN},
                {"mqtt", required_argument, NULL, O_MQTT},
                {"mqtt-ca", required_argument, NULL, O_MQTTCA},
                {0},
        };
        const char *dir = NULL, *nonce = NULL, *out = NULL, *key_out = NULL, *csr_file = NULL;
        const char *purpose = "platform", *fwid_hex = NULL, *info_out = NULL;
        struct att_os os = {.name = "rampart-os", .version = "1.0.0", .svn = 1};
        struct att_forge f = {0};
        bool monitor = false;
        struct mqtt_opts mq = {0};
        int c;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case O_DIR: dir = optarg; break;
                case O_NONCE: nonce = optarg; break;
                case O_OSN: os.name = optarg; break;
                case O_OSV: os.version = optarg; break;
                case O_SVN: os.svn = (uint32_t)strtoul(optarg, NULL, 10); break;
                case O_FWID: fwid_hex = optarg; break;
                case O_PURPOSE: purpose = optarg; break;
                case O_OUT: out = optarg; break;
                case O_KEYOUT: key_out = optarg; break;
                case O_ALIAS: f.alias_by_stranger = true; break;
                case O_EVID: f.evidence_by_stranger = true; break;
                case O_UEID: f.ueid_claim = optarg; break;
                case O_UNBOUND: f.unbound_csr = true; break;
                case O_NOBIND: f.no_binding = true; break;
                case O_CSRFILE: csr_file = optarg; break;
                case O_MONITOR: monitor = true; break;
                case O_INFO: info_out = optarg; break;
                case O_CERTIN: mq.cert_in = optarg; break;
                case O_MQTT: mq.hostport = optarg; break;
                case O_MQTTCA: mq.ca = optarg; break;
                default:
                        fprintf(stderr, "usage: see the comment at the top of attest_forge.c\n");
                        return 2;
                }
        }
        if (monitor)
                return monitor_mode(nonce, purpose, out, info_out, &mq);
        if (!dir || !nonce || !out) {
                fprintf(stderr, "attest-forge: --dir, --nonce and --out are required\n");
                return 2;
        }
        if (fwid_hex) {
                if (rp_hex_decode(fwid_hex, os.fwid, 32) < 0) {
                        fprintf(stderr, "attest-forge: --fwid must be 64 hex digits\n");
                        return 2;
                }
        } else {
                char s[200];
                snprintf(s, sizeof(s), "%s-%s", os.name, os.version);
                cr_sha256(s, strlen(s), os.fwid);
        }
        struct att_sim sim;
        struct rp_err e = {0};
        _cleanup_free_ char *body = NULL;
        _cleanup_free_ char *key = NULL;
        if (att_sim_boot(&sim, dir, &os, &f, &e) < 0) {
                fprintf(stderr, "attest-forge: %s\n", e.msg);
                return 1;
        }
        int r = att_sim_enroll_body(&sim, nonce, purpose, &f, &body, key_out ? &key : NULL, &e);
        att_sim_free(&sim);
        if (r < 0) {
                fprintf(stderr, "attest-forge: %s\n", e.msg);
                return 1;
        }
        if (csr_file) {
                /* replace the CSR with the given DER (keys the monitor never makes) */
                _cleanup_free_ uint8_t *der = NULL;
                size_t dl = 0;
                if (read_file(csr_file, &der, &dl) < 0) {
                        fprintf(stderr, "attest-forge: cannot read '%s'\n", csr_file);
                        return 1;
                }
                json_t *j = json_loads(body, 0, NULL);
                _cleanup_free_ char *b = att_b64(der, dl);
                json_object_set_new(j, "csr", json_string(b));
                free(body);
                body = json_dumps(j, JSON_COMPACT);
                json_decref(j);
        }
        if (write_text(out, body) < 0)
                return 1;
        if (key_out && write_text(key_out, key) < 0)
                return 1;
        return 0;
}
