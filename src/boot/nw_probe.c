/* nw_probe.c - rampart-nwprobe: a minimal normal world for tests. It runs
 * under rampart-boot, talks to the monitor through the client library and
 * prints one line per command, so tests can drive every monitor request
 * through a real boot:
 *
 *   info | chain-pem OUTDIR | chain-der OUTDIR | attest NONCEHEX [HANDLE|last]
 *   [SUBMOD=DIGESTHEX ...] | tls-key [CN] | tls-sign HANDLE|last DIGESTHEX |
 *   tls-destroy HANDLE|last | counter NAME | advance NAME VALUE | confirm |
 *   install PKG ATTEMPTS |
 *   reboot | reboot-stay | raw HEX | oversize N | open PATH | pid | sleep S |
 *   exit CODE
 *
 * A refused request prints "error CMD: message" and the probe goes on. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/encode.h"
#include "monitor/mon_client.h"

static struct mon_client client;
static uint32_t last_handle;

static int write_out(const char *dir, const char *name, const uint8_t *d, size_t n)
{
        char p[4096];
        FILE *f;
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        f = fopen(p, "wb");
        if (!f || fwrite(d, 1, n, f) != n) {
                if (f)
                        fclose(f);
                return -1;
        }
        return fclose(f);
}

static uint32_t parse_handle(const char *s)
{
        return !strcmp(s, "last") ? last_handle : (uint32_t)strtoul(s, NULL, 10);
}

static int hex_arg(const char *s, uint8_t *out, size_t max, size_t *ret_n)
{
        size_t n = strlen(s) / 2;
        if (strlen(s) % 2 || n > max || rp_hex_decode(s, out, n) < 0)
                return -1;
        *ret_n = n;
        return 0;
}

/* Runs argv[0] with its arguments; returns how many argv entries it used. */
static int run(int argc, char **argv, int *exit_code)
{
        const char *cmd = argv[0];
        struct rp_err err = {0};
        int r = 0, used = 1;

        if (!strcmp(cmd, "info")) {
                struct mon_boot_info b;
                char fwid[65];
                r = mon_boot_info(&client, &b, &err);
                if (r == 0) {
                        rp_hex_encode(b.fwid, 32, fwid);
                        printf("info ueid=%s slot=%s os=%s version=%s svn=%llu bootcount=%llu "
                               "debug=%d trial=%d lifecycle=%s fwid=%s\n", b.ueid, b.slot,
                               b.os_name, b.os_version, (unsigned long long)b.svn,
                               (unsigned long long)b.bootcount, b.debug, b.trial, b.lifecycle,
                               fwid);
                }
        } else if ((!strcmp(cmd, "chain-pem") || !strcmp(cmd, "chain-der")) && argc > 1) {
                uint8_t *d = NULL, *a = NULL, *ca = NULL;
                size_t dl, al, cl = 0;
                bool pem = !strcmp(cmd, "chain-pem");
                used = 2;
                r = mon_get_chain(&client, pem, &d, &dl, &a, &al, &ca, &cl, &err);
                if (r == 0) {
                        if (write_out(argv[1], pem ? "deviceid.pem" : "deviceid.der", d, dl) < 0 ||
                            write_out(argv[1], pem ? "alias.pem" : "alias.der", a, al) < 0 ||
                            (ca && write_out(argv[1], pem ? "device_ca.pem" : "device_ca.der",
                                             ca, cl) < 0))
                                r = rp_err_set(&err, -EIO, "cannot write into '%s'", argv[1]);
                        else
                                printf("%s ok\n", cmd);
                }
                free(d);
                free(a);
                free(ca);
        } else if (!strcmp(cmd, "attest") && argc > 1) {
                uint8_t nonce[128];
                size_t nl;
                uint32_t handle = 0;
                struct mon_submod sm[20];
                size_t n_sm = 0;
                char *jws = NULL;
                used = 2;
                if (hex_arg(argv[1], nonce, sizeof(nonce), &nl) < 0) {
                        printf("error attest: nonce '%s' is not hex\n", argv[1]);
                        return used;
                }
                if (argc > 2 && (!strcmp(argv[2], "last") || (argv[2][0] >= '0' && argv[2][0] <= '9'))) {
                        handle = parse_handle(argv[2]);
                        used = 3;
                }
                while (used < argc && strchr(argv[used], '=') && n_sm < 20) {
                        char *eq = strchr(argv[used], '=');
                        size_t dn;
                        *eq = 0;
                        sm[n_sm].name = argv[used];
                        if (hex_arg(eq + 1, sm[n_sm].digest, 32, &dn) < 0 || dn != 32) {
                                printf("error attest: submodule digest is not 32 hex bytes\n");
                                return used + 1;
                        }
                        n_sm++;
                        used++;
                }
                r = mon_attest(&client, nonce, nl, handle, sm, n_sm, &jws, &err);
                if (r == 0)
                        printf("evidence %s\n", jws);
                free(jws);
        } else if (!strcmp(cmd, "tls-key")) {
                uint8_t *csr = NULL;
                size_t n;
                const char *cn = argc > 1 && strchr(argv[1], '=') == NULL &&
                                 strncmp(argv[1], "cn:", 3) == 0 ? argv[1] + 3 : NULL;
                if (cn)
                        used = 2;
                r = mon_tls_key_create(&client, cn, &last_handle, &csr, &n, &err);
                if (r == 0) {
                        char *b64 = malloc(rp_b64url_encoded_len(n) + 1);
                        rp_b64url_encode(csr, n, b64);
                        printf("tls-key handle=%u csr=%s\n", last_handle, b64);
                        free(b64);
                }
                free(csr);
        } else if (!strcmp(cmd, "tls-sign") && argc > 2) {
                uint8_t dg[32], *sig = NULL;
                size_t dn, sn;
                used = 3;
                if (hex_arg(argv[2], dg, 32, &dn) < 0 || dn != 32) {
                        printf("error tls-sign: digest is not 32 hex bytes\n");
                        return used;
                }
                r = mon_tls_sign(&client, parse_handle(argv[1]), dg, &sig, &sn, &err);
                if (r == 0 && sn <= 80) {
                        char hex[2 * 80 + 1];
                        rp_hex_encode(sig, sn, hex);
                        printf("tls-sign sig=%s\n", hex);
                }
                free(sig);
        } else if (!strcmp(cmd, "tls-destroy") && argc > 1) {
                used = 2;
                r = mon_tls_key_destroy(&client, parse_handle(argv[1]), &err);
                if (r == 0)
                        printf("tls-destroy ok\n");
        } else if (!strcmp(cmd, "counter") && argc > 1) {
                uint64_t v;
                used = 2;
                r = mon_counter_read(&client, argv[1], &v, &err);
                if (r == 0)
                        printf("counter %s=%llu\n", argv[1], (unsigned long long)v);
        } else if (!strcmp(cmd, "advance") && argc > 2) {
                uint64_t v;
                used = 3;
                r = mon_counter_advance(&client, argv[1], strtoull(argv[2], NULL, 10), &v, &err);
                if (r == 0)
                        printf("advance %s=%llu\n", argv[1], (unsigned long long)v);
        } else if (!strcmp(cmd, "confirm")) {
                r = mon_confirm(&client, &err);
                if (r == 0)
                        printf("confirm ok\n");
        } else if (!strcmp(cmd, "reboot")) {
                r = mon_reboot(&client, &err);
                if (r == 0) {
                        printf("reboot ok\n");
                        *exit_code = 0;         /* shut down; boot reboots */
                        return -1;
                }
        } else if (!strcmp(cmd, "reboot-stay")) {
                r = mon_reboot(&client, &err);
                if (r == 0) {
                        printf("reboot-stay ok\n");
                        fflush(stdout);
                        pause();        /* ignores the request: boot must end this world */
                }
        } else if (!strcmp(cmd, "raw") && argc > 1) {
                uint8_t buf[4096];
                size_t n;
                used = 2;
                if (hex_arg(argv[1], buf, sizeof(buf), &n) < 0) {
                        printf("error raw: not hex\n");
                        return used;
                }
                r = mon_call_raw(&client, buf, n, &err);
                if (r == 0)
                        printf("raw ok\n");
        } else if (!strcmp(cmd, "oversize") && argc > 1) {
                size_t n = strtoul(argv[1], NULL, 10);
                uint8_t *buf = calloc(1, n ? n : 1);
                used = 2;
                if (n >= 8) {
                        buf[0] = 0x52;
                        buf[1] = 0x4d;
                        buf[2] = MON_BOOT_INFO;
                        buf[4] = (uint8_t)((n - 8) >> 24);
                        buf[5] = (uint8_t)((n - 8) >> 16);
                        buf[6] = (uint8_t)((n - 8) >> 8);
                        buf[7] = (uint8_t)(n - 8);
                }
                r = mon_call_raw(&client, buf, n, &err);
                if (r == 0)
                        printf("oversize ok\n");
                free(buf);
        } else if (!strcmp(cmd, "open") && argc > 1) {
                int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
                used = 2;
                printf("open %s: %s\n", argv[1], fd >= 0 ? "readable" : strerror(errno));
                if (fd >= 0)
                        close(fd);
        } else if (!strcmp(cmd, "install") && argc > 2) {
                char slot[2];
                int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
                used = 3;
                if (fd < 0) {
                        printf("error install: cannot open '%s': %s\n", argv[1], strerror(errno));
                        return used;
                }
                r = mon_install_os(&client, fd, (unsigned)atoi(argv[2]), slot, &err);
                close(fd);
                if (r == 0)
                        printf("install slot=%s\n", slot);
        } else if (!strcmp(cmd, "pid")) {
                printf("pid %d\n", (int)getpid());
        } else if (!strcmp(cmd, "sleep") && argc > 1) {
                used = 2;
                sleep((unsigned)atoi(argv[1]));
        } else if (!strcmp(cmd, "exit") && argc > 1) {
                *exit_code = atoi(argv[1]);
                return -1;
        } else {
                printf("error usage: unknown command or missing argument '%s'\n", cmd);
                return 1;
        }
        if (r < 0)
                printf("error %s: %s\n", cmd, err.msg);
        fflush(stdout);
        return used;
}

int main(int argc, char **argv)
{
        struct rp_err err = {0};
        int code = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (mon_client_from_env(&client, &err) < 0) {
                fprintf(stderr, "rampart-nwprobe: %s\n", err.msg);
                return 1;
        }
        for (int i = 1; i < argc;) {
                int used = run(argc - i, argv + i, &code);
                if (used < 0)
                        break;
                i += used;
        }
        return code;
}
