/* dev.c - `rampart dev`: development commands run on the device itself,
 * talking to its rampartd over the local control socket
 * (DEVICE/data/run/control.sock, root only; runtime/appctl.h).
 *
 *   rampart dev sideload PKG --device DIR    install a development build
 *   rampart dev grant DOC --device DIR       store the development capability
 *   rampart dev apps --device DIR [--json]   what is installed and how it runs
 *   rampart dev logs NAME --device DIR       an app's stdout/stderr
 *   rampart dev remove COMPONENT_ID --device DIR
 *
 * rampartd refuses sideload and remove unless the device holds a valid
 * development capability (granted by the service for this device's UEID,
 * signed, unexpired; docs/sdk.md). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "runtime/appctl.h"

#define DEV_LOG_MAX (16 * 1024 * 1024)

static int dev_usage(FILE *f, int code)
{
        fprintf(f, "usage: rampart dev sideload PKG --device DIR\n"
                   "       rampart dev grant DOC --device DIR\n"
                   "       rampart dev apps --device DIR [--json]\n"
                   "       rampart dev logs NAME --device DIR\n"
                   "       rampart dev remove COMPONENT_ID --device DIR\n"
                   "DIR is the device directory (its rampartd must be running).\n");
        return code;
}

static int control_connect(const char *dev, struct rp_err *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/data/" RTD_APPCTL_CONTROL_SOCK, dev) >=
            sizeof(sa.sun_path))
                return rp_err_set(err, -ENAMETOOLONG, "device path '%s' is too long for its control socket", dev);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return rp_err_set(err, -errno, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return rp_err_set(err, r, "cannot reach rampartd of device '%s' at '%s': %s (is the device running?)",
                                  dev, sa.sun_path, strerror(-r));
        }
        return fd;
}

/* One request, one reply; prints the reply's text or its refusal. */
static int call(const char *dev, uint32_t op, const void *payload, size_t len, int pass_fd, char **ret_text)
{
        static char buf[RTD_APPCTL_MAX_PAYLOAD + 1];
        struct rtd_appctl_hdr h;
        struct rp_err e = {0};
        _cleanup_close_ int fd = control_connect(dev, &e);
        int r;

        if (fd < 0)
                return cli_fail(&e);
        if ((r = rtd_appctl_send(fd, op, 0, 0, payload, len, pass_fd)) < 0 ||
            (r = rtd_appctl_recv(fd, &h, buf, sizeof(buf), NULL)) < 0)
                return cli_errorf(CLI_EXIT_FAIL, "talking to rampartd: %s", strerror(-r));
        if (h.status < 0)
                return cli_errorf(CLI_EXIT_FAIL, "%s", buf);
        if (ret_text)
                *ret_text = buf;
        else
                printf("%s\n", buf);
        return CLI_EXIT_OK;
}

static bool valid_app_name(const char *n)
{
        size_t l = strlen(n);
        if (l == 0 || l > 64 || n[0] == '.' || n[0] == '-')
                return false;
        for (size_t i = 0; i < l; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", n[i]))
                        return false;
        return true;
}

static int print_apps(const char *text, bool as_json)
{
        json_error_t je;
        json_t *a = json_loads(text, 0, &je), *x;
        size_t i;
        if (!json_is_array(a)) {
                json_decref(a);
                return cli_errorf(CLI_EXIT_FAIL, "rampartd sent an unreadable app list");
        }
        if (as_json) {
                char *s = json_dumps(a, JSON_INDENT(2));
                printf("%s\n", s ? s : "[]");
                free(s);
        } else {
                printf("%-16s %-36s %-12s %-8s %7s %6s  %s\n", "NAME", "COMPONENT", "VERSION", "STATE", "PID",
                       "STARTS", "LAST EXIT");
                json_array_foreach(a, i, x) {
                        printf("%-16s %-36s %-12s %-8s %7lld %6lld  %s\n",
                               json_string_value(json_object_get(x, "name")),
                               json_string_value(json_object_get(x, "component_id")),
                               json_string_value(json_object_get(x, "version")),
                               json_string_value(json_object_get(x, "state")),
                               (long long)json_integer_value(json_object_get(x, "pid")),
                               (long long)json_integer_value(json_object_get(x, "starts")),
                               json_string_value(json_object_get(x, "last_exit")));
                }
        }
        json_decref(a);
        return CLI_EXIT_OK;
}

int cli_dev(int argc, char **argv)
{
        const char *device = NULL, *arg = NULL, *sub;
        bool as_json = false;

        if (argc < 2 || cli_wants_help(argc, argv))
                return dev_usage(argc < 2 ? stderr : stdout, argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK);
        sub = argv[1];
        for (int i = 2; i < argc; i++) {
                if (!strcmp(argv[i], "--device") && i + 1 < argc)
                        device = argv[++i];
                else if (!strcmp(argv[i], "--json"))
                        as_json = true;
                else if (argv[i][0] == '-' || arg)
                        return cli_errorf(CLI_EXIT_USAGE, "dev %s: unexpected argument '%s'", sub, argv[i]);
                else
                        arg = argv[i];
        }
        if (!device)
                return cli_errorf(CLI_EXIT_USAGE, "dev %s: --device DIR is needed", sub);

        if (!strcmp(sub, "apps")) {
                char *text = NULL;
                if (arg)
                        return cli_errorf(CLI_EXIT_USAGE, "dev apps: unexpected argument '%s'", arg);
                int r = call(device, RTD_OP_DEV_APPS, NULL, 0, -1, &text);
                return r == CLI_EXIT_OK ? print_apps(text, as_json) : r;
        }
        if (!arg)
                return cli_errorf(CLI_EXIT_USAGE, "dev %s: an argument is needed", sub);
        if (!strcmp(sub, "sideload")) {
                _cleanup_close_ int fd = open(arg, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return cli_errorf(CLI_EXIT_FAIL, "cannot open package '%s': %s", arg, strerror(errno));
                return call(device, RTD_OP_DEV_SIDELOAD, NULL, 0, fd, NULL);
        }
        if (!strcmp(sub, "grant")) {
                _cleanup_free_ uint8_t *doc = NULL;
                size_t len;
                struct rp_err e = {0};
                if (rp_read_file(arg, RTD_APPCTL_MAX_PAYLOAD, &doc, &len, &e) < 0)
                        return cli_fail(&e);
                return call(device, RTD_OP_DEV_GRANT, doc, len, -1, NULL);
        }
        if (!strcmp(sub, "remove"))
                return call(device, RTD_OP_DEV_REMOVE, arg, strlen(arg), -1, NULL);
        if (!strcmp(sub, "logs")) {
                _cleanup_free_ char *path = NULL;
                _cleanup_free_ uint8_t *data = NULL;
                size_t len;
                struct rp_err e = {0};
                if (!valid_app_name(arg))
                        return cli_errorf(CLI_EXIT_USAGE, "dev logs: '%s' is not an app name", arg);
                if (asprintf(&path, "%s/data/apps/state/log/%s.log", device, arg) < 0)
                        return CLI_EXIT_FAIL;
                if (rp_read_file(path, DEV_LOG_MAX, &data, &len, &e) < 0)
                        return cli_errorf(CLI_EXIT_FAIL, "no log for app '%s' on device '%s': %s", arg, device, e.msg);
                fwrite(data, 1, len, stdout);
                return CLI_EXIT_OK;
        }
        return cli_errorf(CLI_EXIT_USAGE, "dev: unknown command '%s' (sideload, grant, apps, logs, remove)", sub);
}
