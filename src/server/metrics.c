/* metrics.c - counters and histograms in the Prometheus text format. */
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"

static const double bounds[SRV_METRICS_BUCKETS] = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
        0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   5.0,
};

int srv_metrics_init(struct srv_metrics *m, const char *const *route_names, size_t n)
{
        memset(m, 0, sizeof(*m));
        m->routes = calloc(n + 1, sizeof(*m->routes));
        if (!m->routes)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                m->routes[i].name = route_names[i];
        m->routes[n].name = "unmatched";
        m->n_routes = n;
        return 0;
}

void srv_metrics_free(struct srv_metrics *m)
{
        free(m->routes);
        m->routes = NULL;
}

static void observe(struct srv_histogram *h, double v)
{
        for (size_t i = 0; i < SRV_METRICS_BUCKETS; i++)
                if (v <= bounds[i]) {
                        h->buckets[i]++;
                        break;
                }
        h->count++;
        h->sum += v;
}

void srv_metrics_request(struct srv_metrics *m, size_t route, int status, double seconds)
{
        if (!m->routes || route > m->n_routes)
                return;
        struct srv_route_metrics *rm = &m->routes[route];
        observe(&rm->latency, seconds);
        for (size_t i = 0; i < SRV_METRICS_CODES; i++) {
                if (rm->codes[i].code == status || rm->codes[i].code == 0) {
                        rm->codes[i].code = status;
                        rm->codes[i].n++;
                        return;
                }
        }
        /* more distinct codes than slots: fold into the last one */
        rm->codes[SRV_METRICS_CODES - 1].n++;
}

void srv_metrics_store(struct srv_metrics *m, const char *op, double seconds)
{
        for (size_t i = 0; i < m->n_store; i++)
                if (m->store[i].op == op || !strcmp(m->store[i].op, op))
                        return observe(&m->store[i].latency, seconds);
        if (m->n_store == SRV_METRICS_STORE_OPS)
                return;
        m->store[m->n_store].op = op;
        observe(&m->store[m->n_store].latency, seconds);
        m->n_store++;
}

static int histogram(struct rp_buf *o, const char *metric, const char *label, const char *value,
                     const struct srv_histogram *h)
{
        uint64_t cum = 0;
        for (size_t i = 0; i < SRV_METRICS_BUCKETS; i++) {
                cum += h->buckets[i];
                if (rp_buf_printf(o, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", metric, label, value,
                                  bounds[i], (unsigned long long)cum) < 0)
                        return -ENOMEM;
        }
        if (rp_buf_printf(o, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", metric, label, value,
                          (unsigned long long)h->count) < 0 ||
            rp_buf_printf(o, "%s_sum{%s=\"%s\"} %.9f\n", metric, label, value, h->sum) < 0 ||
            rp_buf_printf(o, "%s_count{%s=\"%s\"} %llu\n", metric, label, value,
                          (unsigned long long)h->count) < 0)
                return -ENOMEM;
        return 0;
}

int srv_metrics_render(const struct srv_metrics *m, struct rp_buf *o)
{
        if (rp_buf_printf(o, "# HELP rampart_http_requests_total Requests answered, by route and status.\n"
                             "# TYPE rampart_http_requests_total counter\n") < 0)
                return -ENOMEM;
        for (size_t r = 0; r <= m->n_routes; r++)
                for (size_t i = 0; i < SRV_METRICS_CODES && m->routes[r].codes[i].code; i++)
                        if (rp_buf_printf(o, "rampart_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                                          m->routes[r].name, m->routes[r].codes[i].code,
                                          (unsigned long long)m->routes[r].codes[i].n) < 0)
                                return -ENOMEM;
        if (rp_buf_printf(o, "# HELP rampart_http_request_duration_seconds Time from a complete request to its reply, by route.\n"
                             "# TYPE rampart_http_request_duration_seconds histogram\n") < 0)
                return -ENOMEM;
        for (size_t r = 0; r <= m->n_routes; r++)
                if (m->routes[r].latency.count &&
                    histogram(o, "rampart_http_request_duration_seconds", "route", m->routes[r].name,
                              &m->routes[r].latency) < 0)
                        return -ENOMEM;
        if (rp_buf_printf(o, "# HELP rampart_store_op_duration_seconds Store call latency, by operation.\n"
                             "# TYPE rampart_store_op_duration_seconds histogram\n") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_store; i++)
                if (histogram(o, "rampart_store_op_duration_seconds", "op", m->store[i].op,
                              &m->store[i].latency) < 0)
                        return -ENOMEM;
        if (rp_buf_printf(o,
                          "# HELP rampart_http_open_connections Client connections open now.\n"
                          "# TYPE rampart_http_open_connections gauge\n"
                          "rampart_http_open_connections %llu\n"
                          "# HELP rampart_http_connections_total Client connections accepted.\n"
                          "# TYPE rampart_http_connections_total counter\n"
                          "rampart_http_connections_total %llu\n"
                          "# HELP rampart_http_deadline_closed_total Connections closed because a request did not arrive in time.\n"
                          "# TYPE rampart_http_deadline_closed_total counter\n"
                          "rampart_http_deadline_closed_total %llu\n"
                          "# HELP rampart_http_rate_limited_total Requests refused with 429.\n"
                          "# TYPE rampart_http_rate_limited_total counter\n"
                          "rampart_http_rate_limited_total %llu\n"
                          "# HELP rampart_audit_write_failures_total Audit records that could not be written.\n"
                          "# TYPE rampart_audit_write_failures_total counter\n"
                          "rampart_audit_write_failures_total %llu\n",
                          (unsigned long long)m->open_conns, (unsigned long long)m->conns_total,
                          (unsigned long long)m->deadline_closed,
                          (unsigned long long)m->rate_limited,
                          (unsigned long long)m->audit_failures) < 0)
                return -ENOMEM;
        if (rp_buf_printf(o, "# HELP rampart_attest_total Attestations, by result (ok or reason code).\n"
                             "# TYPE rampart_attest_total counter\n") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_attest; i++)
                if (rp_buf_printf(o, "rampart_attest_total{result=\"%s\"} %llu\n", m->attest[i].result,
                                  (unsigned long long)m->attest[i].n) < 0)
                        return -ENOMEM;
        return 0;
}

void srv_metrics_attest(struct srv_metrics *m, const char *result)
{
        for (size_t i = 0; i < m->n_attest; i++)
                if (!strcmp(m->attest[i].result, result)) {
                        m->attest[i].n++;
                        return;
                }
        if (m->n_attest < SRV_METRICS_ATTEST_RESULTS) {
                m->attest[m->n_attest].result = result;
                m->attest[m->n_attest++].n = 1;
        }
}
