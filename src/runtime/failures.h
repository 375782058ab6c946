/* failures.h - the device's failure queue: a bounded, crash-safe on-disk
 * ring of failure events waiting for upload.
 *
 * Storage: one file, DIR/queue, rewritten whole on every change by
 * write-temp, fsync, rename, fsync-dir, so a power cut (kill -9, reboot) at
 * any instant leaves either the state before or the state after the change,
 * never a mix. The file is "rampart-failq 1 <sha256 hex of the rest>\n"
 * followed by JSON; a file whose checksum or content is wrong is moved to
 * DIR/queue.corrupt and the queue starts empty (stats say so). Rewriting the
 * whole file is affordable because the ring is small (at most
 * RTD_FAILQ_MAX_EVENTS events, identical events coalesced, crash dumps kept
 * for only RTD_FAILQ_MAX_DUMPS events), and it keeps recovery trivial: there
 * is no log to replay and no partial record to skip.
 *
 * Semantics:
 *  - record: an event identical to a queued one (same bucket signature, see
 *    failure/bucket.h, and same component version) that is not part of a batch
 *    in flight is coalesced into it: count added, time_first/time_last widened.
 *    Otherwise it is appended; when the ring is full the oldest event not in
 *    flight is dropped first (ordinary classes before urgent ones) and the
 *    dropped counter goes up. The bound holds under any storm.
 *  - take_batch: returns the batch in flight if there is one (same id, same
 *    bytes: a retry is idempotent at the server); otherwise freezes up to N
 *    events (urgent first, then oldest) into a new batch with a random id.
 *    A batch takes at most half the ring, so new events always have room.
 *  - ack: only the id of the batch in flight is accepted; its events are then
 *    deleted and the dropped count it reported is subtracted. Nothing is
 *    deleted before that.
 * One process owns a queue directory at a time (flock on DIR/lock).
 *
 * Crash-safety tests cut the power at the RP_FAULT_POINTs "failq-begin",
 * "failq-written" (temp file durable, not yet renamed) and "failq-renamed"
 * (renamed, directory not yet synced). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "failure/report.h"
#include "lib/err.h"

#define RTD_FAILQ_DEFAULT_EVENTS 64
#define RTD_FAILQ_MIN_EVENTS     4
#define RTD_FAILQ_MAX_EVENTS     256
#define RTD_FAILQ_MAX_DUMPS      4              /* events that keep a crash dump */
#define RTD_FAILQ_MAX_FILE       (16 * 1024 * 1024)

struct rtd_failq;

struct rtd_failq_stats {
        unsigned events;                /* queued, including those in flight */
        unsigned inflight;              /* events in the batch in flight */
        bool urgent;                    /* an urgent event waits (not in flight) */
        uint32_t dropped;               /* dropped, not yet reported in an acknowledged batch */
        uint64_t dropped_total;         /* dropped since the queue was created */
        uint64_t recorded_total;        /* record calls that were accepted */
        bool recovered_corrupt;         /* open found a corrupt file and started over */
};

/* Opens (creating DIR if needed) the queue in DIR, holding at most
 * max_events (RTD_FAILQ_MIN_EVENTS..RTD_FAILQ_MAX_EVENTS; 0 = default). A
 * stored queue with more events than max_events is trimmed oldest first. */
int rtd_failq_open(const char *dir, unsigned max_events, struct rtd_failq **ret,
                   struct rp_err *err) RP_WUR;
void rtd_failq_close(struct rtd_failq *q);     /* accepts NULL */

/* Validates and queues one event (the event is copied; the caller keeps it). */
int rtd_failq_record(struct rtd_failq *q, const struct fail_event *ev,
                     struct rp_err *err) RP_WUR;

void rtd_failq_stats(const struct rtd_failq *q, struct rtd_failq_stats *ret);

/* The next upload body (see failure/report.h). -ENODATA when nothing waits.
 * max_events 0 = as many as allowed. *ret_json is malloc'd. */
int rtd_failq_take_batch(struct rtd_failq *q, unsigned max_events, char **ret_json,
                         size_t *ret_len, char ret_batch_id[FAIL_BATCH_ID_LEN + 1],
                         struct rp_err *err) RP_WUR;

/* The server acknowledged batch_id: delete its events. -ENOENT when no batch
 * is in flight, -ESTALE when batch_id is not the one in flight. */
int rtd_failq_ack(struct rtd_failq *q, const char *batch_id, struct rp_err *err) RP_WUR;

/* A copy of the queued event at position i (0 = oldest), for inspection.
 * The caller clears *ret. -ENOENT past the end. */
int rtd_failq_get(const struct rtd_failq *q, unsigned i, struct fail_event *ret,
                  bool *ret_inflight) RP_WUR;
