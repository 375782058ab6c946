/* manifest_test.c - unit tests for the app manifest parser/validator:
 * a full valid manifest, every rejection class (unknown field, wrong type,
 * bad host, port range, storage limit, caps, duplicates) with the message
 * naming field and value, and the peripheral/port conflict check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"

#define ID_A "3f1c0a52-6b8e-4d7a-9c41-0e2f5b6a7d10"
#define ID_B "8a0e2d94-17c3-4f55-b2a6-9d3e1c4b5f22"

static const char full[] =
        "{\"SchemaVersion\":1,\"Name\":\"telemetry\",\"ComponentId\":\"3F1C0A52-6B8E-4D7A-9C41-0E2F5B6A7D10\","
        "\"EntryPoint\":\"/bin/telemetry\",\"CmdArgs\":[\"--interval\",\"5\",\"\"],"
        "\"Capabilities\":{\"AllowedConnections\":[\"Broker.Example.com:8883\",\"10.1.2.3\",\"[2001:db8::1]:443\","
        "\"2001:db8::2\",\"svc.test\"],"
        "\"AllowedTcpServerPorts\":[8080],\"AllowedUdpServerPorts\":[5683,5684],"
        "\"MutableStorage\":{\"SizeKB\":1024},\"DeviceAuthentication\":true,\"Gpio\":[8,12],"
        "\"Uart\":[\"ISU0\"],\"I2cMaster\":[\"ISU1\"],\"SpiMaster\":[\"ISU2\"],"
        "\"AllowedApplicationConnections\":[\"" ID_B "\"],\"SystemEventNotifications\":true,"
        "\"SoftwareUpdateDeferral\":false,\"PowerControls\":[\"ForceReboot\",\"SetPowerProfile\"]}}";

static int parse(const char *json, struct img_manifest *m, struct rp_err *e)
{
        return img_manifest_parse((const uint8_t *)json, strlen(json), m, e);
}

static void test_full_manifest(void **state)
{
        struct img_manifest *m = calloc(1, sizeof(*m));
        struct rp_err e = {0};

        assert_int_equal(parse(full, m, &e), 0);
        assert_int_equal(m->schema_version, 1);
        assert_string_equal(m->name, "telemetry");
        assert_string_equal(m->component_id, ID_A);
        assert_string_equal(m->entry_point, "/bin/telemetry");
        assert_int_equal(m->n_args, 3);
        assert_string_equal(m->args[1], "5");
        assert_string_equal(m->args[2], "");
        assert_int_equal(m->n_conns, 5);
        assert_string_equal(m->conns[0].host, "broker.example.com");
        assert_int_equal(m->conns[0].kind, IMG_HOST_NAME);
        assert_int_equal(m->conns[0].port, 8883);
        assert_int_equal(m->conns[1].kind, IMG_HOST_IPV4);
        assert_int_equal(m->conns[1].port, 0);
        assert_memory_equal(m->conns[1].addr, "\x0a\x01\x02\x03", 4);
        assert_int_equal(m->conns[2].kind, IMG_HOST_IPV6);
        assert_string_equal(m->conns[2].host, "2001:db8::1");
        assert_int_equal(m->conns[2].port, 443);
        assert_int_equal(m->conns[3].kind, IMG_HOST_IPV6);
        assert_int_equal(m->conns[3].port, 0);
        assert_int_equal(m->n_tcp_ports, 1);
        assert_int_equal(m->tcp_ports[0], 8080);
        assert_int_equal(m->n_udp_ports, 2);
        assert_int_equal(m->storage_kb, 1024);
        assert_true(m->device_auth);
        assert_int_equal(m->n_gpio, 2);
        assert_int_equal(m->gpio[1], 12);
        assert_string_equal(m->uart[0], "ISU0");
        assert_string_equal(m->i2c[0], "ISU1");
        assert_string_equal(m->spi[0], "ISU2");
        assert_string_equal(m->app_conns[0], ID_B);
        assert_true(m->system_events);
        assert_false(m->update_deferral);
        assert_int_equal(m->power_controls, IMG_POWER_FORCE_REBOOT | IMG_POWER_SET_POWER_PROFILE);
        free(m);
}

static void test_minimal_manifest(void **state)
{
        struct img_manifest *m = calloc(1, sizeof(*m));
        struct rp_err e = {0};
        assert_int_equal(parse("{\"SchemaVersion\":1,\"Name\":\"a\",\"ComponentId\":\"" ID_A
                               "\",\"EntryPoint\":\"/a\"}", m, &e), 0);
        assert_int_equal(m->n_conns, 0);
        assert_int_equal(m->storage_kb, 0);
        assert_false(m->device_auth);
        free(m);
}

/* Each case: a manifest that must be rejected, the code and a message
 * fragment (which names the field and the value). */
struct bad_case {
        const char *json;
        int code;
        const char *msg;
};

#define HDR "\"SchemaVersion\":1,\"Name\":\"a\",\"ComponentId\":\"" ID_A "\",\"EntryPoint\":\"/a\""
#define CAPS(x) "{" HDR ",\"Capabilities\":{" x "}}"

static const struct bad_case bad[] = {
        { "", -EBADMSG, "not valid JSON" },
        { "{\"SchemaVersion\":1", -EBADMSG, "not valid JSON" },
        { "[1,2]", -EINVAL, "field '(top level)' is an array" },
        { "{" HDR ",\"Extra\":1}", -EINVAL, "unknown field 'Extra'" },
        { "{" HDR ",\"Name\":\"b\"}", -EBADMSG, "duplicate" },
        { "{\"Name\":\"a\",\"ComponentId\":\"" ID_A "\",\"EntryPoint\":\"/a\"}", -EINVAL,
          "field 'SchemaVersion' is missing" },
        { "{\"SchemaVersion\":2,\"Name\":\"a\",\"ComponentId\":\"" ID_A "\",\"EntryPoint\":\"/a\"}", -EINVAL,
          "field 'SchemaVersion' is 2" },
        { "{\"SchemaVersion\":\"1\",\"Name\":\"a\",\"ComponentId\":\"" ID_A "\",\"EntryPoint\":\"/a\"}", -EINVAL,
          "field 'SchemaVersion' is a string, expected an integer" },
        { "{\"SchemaVersion\":1.0,\"Name\":\"a\",\"ComponentId\":\"" ID_A "\",\"EntryPoint\":\"/a\"}", -EINVAL,
          "is a real number" },
        { "{\"SchemaVersion\":1,\"Name\":\"a b\",\"ComponentId\":\"" ID_A "\",\"EntryPoint\":\"/a\"}", -EINVAL,
          "field 'Name' is 'a b'" },
        { "{\"SchemaVersion\":1,\"Name\":\"a\",\"ComponentId\":\"not-a-uuid\",\"EntryPoint\":\"/a\"}", -EINVAL,
          "field 'ComponentId' is 'not-a-uuid'" },
        { "{\"SchemaVersion\":1,\"Name\":\"a\",\"ComponentId\":\"" ID_A "\",\"EntryPoint\":\"/../etc/x\"}",
          -EINVAL, "field 'EntryPoint' is '/../etc/x'" },
        { "{\"SchemaVersion\":1,\"Name\":\"a\",\"ComponentId\":\"" ID_A "\",\"EntryPoint\":\"bin/a\"}",
          -EINVAL, "field 'EntryPoint' is 'bin/a'" },
        { "{" HDR ",\"CmdArgs\":[\"x\",3]}", -EINVAL, "field 'CmdArgs[1]' is an integer, expected a string" },
        { "{" HDR ",\"CmdArgs\":[\"a\\u0001\"]}", -EINVAL, "field 'CmdArgs[0]' contains control character" },
        { "{" HDR ",\"CmdArgs\":[\"a\\u0000b\"]}", -EBADMSG, "not valid JSON" },
        { "{" HDR ",\"Capabilities\":[]}", -EINVAL, "field 'Capabilities' is an array, expected an object" },
        { CAPS("\"Camera\":true"), -EINVAL, "unknown field 'Capabilities.Camera'" },
        { CAPS("\"AllowedConnections\":[\"bad_host.example\"]"), -EINVAL,
          "field 'Capabilities.AllowedConnections[0]' is 'bad_host.example', not a valid DNS name" },
        { CAPS("\"AllowedConnections\":[\"ok.example\",\"-bad.example\"]"), -EINVAL,
          "field 'Capabilities.AllowedConnections[1]' is '-bad.example'" },
        { CAPS("\"AllowedConnections\":[\"1.2.3.999\"]"), -EINVAL, "is '1.2.3.999', not a valid DNS name" },
        { CAPS("\"AllowedConnections\":[\"a..b\"]"), -EINVAL, "is 'a..b'" },
        { CAPS("\"AllowedConnections\":[\"*.example.com\"]"), -EINVAL, "is '*.example.com'" },
        { CAPS("\"AllowedConnections\":[\"2001:db8::zz\"]"), -EINVAL, "is '2001:db8::zz'" },
        { CAPS("\"AllowedConnections\":[\"host.example:70000\"]"), -EINVAL, "port '70000' is not in 1..65535" },
        { CAPS("\"AllowedConnections\":[\"host.example:0\"]"), -EINVAL, "port '0' is not in 1..65535" },
        { CAPS("\"AllowedConnections\":[\"host.example:\"]"), -EINVAL, "port '' is not in 1..65535" },
        { CAPS("\"AllowedConnections\":[\"[10.0.0.1]:80\"]"), -EINVAL, "brackets are only for IPv6" },
        { CAPS("\"AllowedConnections\":[\"A.example\",\"a.example\"]"), -EINVAL, "listed twice" },
        { CAPS("\"AllowedConnections\":\"a.example\""), -EINVAL,
          "field 'Capabilities.AllowedConnections' is a string, expected an array" },
        { CAPS("\"AllowedTcpServerPorts\":[0]"), -EINVAL,
          "field 'Capabilities.AllowedTcpServerPorts[0]' is 0, allowed range is 1..65535" },
        { CAPS("\"AllowedUdpServerPorts\":[65536]"), -EINVAL,
          "field 'Capabilities.AllowedUdpServerPorts[0]' is 65536" },
        { CAPS("\"AllowedTcpServerPorts\":[80,80]"), -EINVAL, "is 80, listed twice" },
        { CAPS("\"AllowedTcpServerPorts\":[\"80\"]"), -EINVAL, "is a string, expected an integer" },
        { CAPS("\"MutableStorage\":{\"SizeKB\":70000}"), -EINVAL,
          "manifest: field 'Capabilities.MutableStorage.SizeKB' is 70000, the limit is 65536" },
        { CAPS("\"MutableStorage\":{\"SizeKB\":-1}"), -EINVAL, "SizeKB' is -1" },
        { CAPS("\"MutableStorage\":{\"SizeKB\":true}"), -EINVAL, "SizeKB' is a boolean" },
        { CAPS("\"MutableStorage\":{}"), -EINVAL, "SizeKB' is missing" },
        { CAPS("\"MutableStorage\":{\"SizeKB\":64,\"Path\":\"/\"}"), -EINVAL,
          "unknown field 'Capabilities.MutableStorage.Path'" },
        { CAPS("\"DeviceAuthentication\":\"yes\""), -EINVAL,
          "field 'Capabilities.DeviceAuthentication' is a string, expected a boolean" },
        { CAPS("\"Gpio\":[1024]"), -EINVAL, "field 'Capabilities.Gpio[0]' is 1024" },
        { CAPS("\"Gpio\":[3,3]"), -EINVAL, "field 'Capabilities.Gpio[1]' is 3, listed twice" },
        { CAPS("\"Uart\":[\"ISU 0\"]"), -EINVAL, "field 'Capabilities.Uart[0]' is 'ISU 0'" },
        { CAPS("\"I2cMaster\":[\"\"]"), -EINVAL, "field 'Capabilities.I2cMaster[0]' is empty" },
        { CAPS("\"SpiMaster\":[\"a\",\"a\"]"), -EINVAL, "field 'Capabilities.SpiMaster[1]' is 'a', listed twice" },
        { CAPS("\"AllowedApplicationConnections\":[\"x\"]"), -EINVAL,
          "field 'Capabilities.AllowedApplicationConnections[0]' is 'x'" },
        { CAPS("\"SystemEventNotifications\":1"), -EINVAL, "is an integer, expected a boolean" },
        { CAPS("\"PowerControls\":[\"SelfDestruct\"]"), -EINVAL,
          "field 'Capabilities.PowerControls[0]' is 'SelfDestruct'" },
        { CAPS("\"PowerControls\":[\"ForceReboot\",\"ForceReboot\"]"), -EINVAL, "listed twice" },
        { CAPS("\"Uart\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]"),
          -E2BIG, "field 'Capabilities.Uart' has 17 entries, the limit is 16" },
};

static void test_rejects(void **state)
{
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct img_manifest *m = calloc(1, sizeof(*m));
                struct rp_err e = {0};
                strcpy(m->name, "untouched");
                int r = parse(bad[i].json, m, &e);
                if (r != bad[i].code || !strstr(e.msg, bad[i].msg)) {
                        print_error("case %zu: %s\n  got %d '%s', want %d '%s'\n", i, bad[i].json, r, e.msg,
                                    bad[i].code, bad[i].msg);
                        fail();
                }
                /* written only on success */
                assert_string_equal(m->name, "untouched");
                free(m);
        }
}

static void test_size_caps(void **state)
{
        struct img_manifest *m = calloc(1, sizeof(*m));
        struct rp_err e = {0};
        size_t n = IMG_MANIFEST_MAX_SIZE + 1;
        char *big = malloc(n + 1);
        memset(big, ' ', n);
        big[n] = '\0';
        big[0] = '{';
        big[n - 1] = '}';
        assert_int_equal(img_manifest_parse((uint8_t *)big, n, m, &e), -E2BIG);
        assert_non_null(strstr(e.msg, "the limit is"));

        /* over-long Name and host */
        char json[2048];
        snprintf(json, sizeof(json), "{\"SchemaVersion\":1,\"Name\":\"%0*d\",\"ComponentId\":\"" ID_A
                 "\",\"EntryPoint\":\"/a\"}", IMG_MANIFEST_NAME_MAX + 1, 0);
        assert_int_equal(parse(json, m, &e), -E2BIG);
        assert_non_null(strstr(e.msg, "field 'Name' is 65 bytes long, the limit is 64"));
        char label[70];
        memset(label, 'a', 64);
        label[64] = '\0';
        snprintf(json, sizeof(json), CAPS("\"AllowedConnections\":[\"%s.example\"]"), label);
        assert_int_equal(parse(json, m, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "not a valid DNS name"));
        /* exactly 63 is fine */
        label[63] = '\0';
        snprintf(json, sizeof(json), CAPS("\"AllowedConnections\":[\"%s.example\"]"), label);
        assert_int_equal(parse(json, m, &e), 0);

        /* deep nesting never reaches us as a valid manifest */
        char deep[4100];
        memset(deep, '[', 2050);
        memset(deep + 2050, ']', 2050);
        deep[4100 - 1] = '\0';
        assert_true(parse(deep, m, &e) < 0);
        free(big);
        free(m);
}

static void test_dns_and_ip_helpers(void **state)
{
        uint8_t a[16];
        size_t n;
        assert_true(img_manifest_valid_dns_name("localhost"));
        assert_true(img_manifest_valid_dns_name("a-b.c1.example"));
        assert_true(img_manifest_valid_dns_name("1a.example"));
        assert_false(img_manifest_valid_dns_name(""));
        assert_false(img_manifest_valid_dns_name("a."));
        assert_false(img_manifest_valid_dns_name(".a"));
        assert_false(img_manifest_valid_dns_name("a-.b"));
        assert_false(img_manifest_valid_dns_name("10.0.0.1"));
        assert_int_equal(img_manifest_parse_ip("127.0.0.2", a, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(img_manifest_parse_ip("::1", a, &n), 0);
        assert_int_equal(n, 16);
        assert_int_equal(img_manifest_parse_ip("127.1", a, &n), -EINVAL);
        assert_int_equal(img_manifest_parse_ip("example.com", a, &n), -EINVAL);
}

static void test_conflicts(void **state)
{
        struct img_manifest *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b)), *c = calloc(1, sizeof(*c));
        struct rp_err e = {0};

        assert_int_equal(parse(full, a, &e), 0);
        assert_int_equal(parse("{\"SchemaVersion\":1,\"Name\":\"blink\",\"ComponentId\":\"" ID_B
                               "\",\"EntryPoint\":\"/a\",\"Capabilities\":{\"Gpio\":[12],\"Uart\":[\"ISU3\"]}}",
                               b, &e), 0);
        const struct img_manifest *installed[] = { a };
        assert_int_equal(img_manifest_check_conflicts(b, installed, 1, &e), -EBUSY);
        assert_non_null(strstr(e.msg, "field 'Capabilities.Gpio[0]' is 12, already owned by app 'telemetry'"));

        assert_int_equal(parse("{\"SchemaVersion\":1,\"Name\":\"c\",\"ComponentId\":\"" ID_B
                               "\",\"EntryPoint\":\"/a\",\"Capabilities\":{\"Uart\":[\"ISU3\",\"ISU0\"]}}",
                               c, &e), 0);
        assert_int_equal(img_manifest_check_conflicts(c, installed, 1, &e), -EBUSY);
        assert_non_null(strstr(e.msg, "field 'Capabilities.Uart[1]' is 'ISU0', already owned by app 'telemetry'"));

        assert_int_equal(parse("{\"SchemaVersion\":1,\"Name\":\"c\",\"ComponentId\":\"" ID_B
                               "\",\"EntryPoint\":\"/a\",\"Capabilities\":{\"AllowedTcpServerPorts\":[8080]}}",
                               c, &e), 0);
        assert_int_equal(img_manifest_check_conflicts(c, installed, 1, &e), -EBUSY);
        assert_non_null(strstr(e.msg, "AllowedTcpServerPorts[0]' is 8080"));

        /* no overlap: fine; the same component (an update) never conflicts with itself */
        assert_int_equal(parse("{\"SchemaVersion\":1,\"Name\":\"c\",\"ComponentId\":\"" ID_B
                               "\",\"EntryPoint\":\"/a\",\"Capabilities\":{\"Gpio\":[9],\"Uart\":[\"ISU3\"]}}",
                               c, &e), 0);
        assert_int_equal(img_manifest_check_conflicts(c, installed, 1, &e), 0);
        assert_int_equal(img_manifest_check_conflicts(a, installed, 1, &e), 0);
        const struct img_manifest *two[] = { a, b };
        assert_int_equal(img_manifest_check_conflicts(c, two, 2, &e), 0); /* b is c's own id */
        free(a);
        free(b);
        free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_manifest),
                cmocka_unit_test(test_minimal_manifest),
                cmocka_unit_test(test_rejects),
                cmocka_unit_test(test_size_caps),
                cmocka_unit_test(test_dns_and_ip_helpers),
                cmocka_unit_test(test_conflicts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
