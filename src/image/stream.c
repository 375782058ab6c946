/* stream.c - img_verify fed by the caller: the bytes of a package pushed in
 * pieces as they arrive (a download), the verdict at the end. It fills the
 * same struct img_scan that verify.c's pull-style scan fills, reporting each
 * structural fault at the byte that brings it with verify.c's message, and
 * ends in the same img_scan_verdict + img_meta_parse; so for any bytes the
 * verdict is img_verify's. Pure: no I/O, no logging, bounded memory. */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/internal.h"

enum phase { PH_HEAD, PH_META, PH_PAYLOAD, PH_SIGS };

struct img_stream {
        enum phase phase;
        size_t have;                    /* bytes of the current header/metadata/record */
        uint64_t payload_done;
        uint64_t fed;
        struct cr_sha256_ctx *h_image, *h_payload;
        struct rp_err fault;            /* sticky; code 0 while none */
        uint8_t rec[IMG_SIG_REC_LEN];
        struct img_scan scan;
};

static void hashes_free(struct img_stream *s)
{
        cr_sha256_free(s->h_image);
        cr_sha256_free(s->h_payload);
        s->h_image = s->h_payload = NULL;
}

void img_stream_reset(struct img_stream *s)
{
        hashes_free(s);
        s->phase = PH_HEAD;
        s->have = 0;
        s->payload_done = 0;
        s->fed = 0;
        rp_err_clear(&s->fault);
        s->fault.code = 0;
        memset(&s->scan.hdr, 0, sizeof(s->scan.hdr));
        s->scan.metadata_len = 0;
        s->scan.n_sigs = 0;
}

struct img_stream *img_stream_new(void)
{
        struct img_stream *s = calloc(1, sizeof(*s));
        if (s)
                img_stream_reset(s);
        return s;
}

void img_stream_free(struct img_stream *s)
{
        if (!s)
                return;
        hashes_free(s);
        free(s);
}

uint64_t img_stream_fed(const struct img_stream *s)
{
        return s->fed;
}

/* Records a fault (sticky) and reports it to the caller. */
static int fault(struct img_stream *s, struct rp_err *err)
{
        if (err)
                *err = s->fault;
        return s->fault.code;
}

/* Moves past sections that are complete (including empty ones). */
static int settle(struct img_stream *s)
{
        struct img_scan *sc = &s->scan;

        if (s->phase == PH_HEAD && s->have == IMG_HEADER_LEN) {
                int r = img_header_decode(sc->head, &sc->hdr, &s->fault);
                if (r < 0)
                        return s->fault.code = r;
                sc->metadata_len = sc->hdr.metadata_len;
                s->h_image = cr_sha256_new();
                s->h_payload = cr_sha256_new();
                if (!s->h_image || !s->h_payload)
                        return rp_err_set(&s->fault, -ENOMEM,
                                          "out of memory reading image package");
                cr_sha256_update(s->h_image, sc->head, IMG_HEADER_LEN);
                s->phase = PH_META;
                s->have = 0;
        }
        if (s->phase == PH_META && s->have == sc->metadata_len) {
                cr_sha256_update(s->h_image, sc->metadata, sc->metadata_len);
                cr_sha256_final(s->h_image, sc->image_digest);
                s->phase = PH_PAYLOAD;
                s->have = 0;
        }
        if (s->phase == PH_PAYLOAD && s->payload_done == sc->hdr.payload_len) {
                cr_sha256_final(s->h_payload, sc->payload_digest);
                hashes_free(s);
                s->phase = PH_SIGS;
                s->have = 0;
        }
        return 0;
}

/* A whole signature record has arrived. */
static int take_record(struct img_stream *s)
{
        struct img_scan *sc = &s->scan;
        int r = img_sig_decode(s->rec, &sc->sigs[sc->n_sigs], &s->fault);

        if (r < 0) {
                rp_err_prefix(&s->fault, "signature record %zu", sc->n_sigs + 1);
                return s->fault.code = r;
        }
        for (size_t i = 0; i < sc->n_sigs; i++)
                if (!memcmp(sc->sigs[i].key_id, sc->sigs[sc->n_sigs].key_id, CR_KEY_ID_LEN)) {
                        char id[17];
                        img_key_id_short(sc->sigs[i].key_id, id);
                        return rp_err_set(&s->fault, -EBADMSG,
                                          "image package has two signatures by key %s", id);
                }
        sc->n_sigs++;
        s->have = 0;
        return 0;
}

int img_stream_update(struct img_stream *s, const void *buf, size_t len, struct rp_err *err)
{
        struct img_scan *sc = &s->scan;
        const uint8_t *p = buf;

        if (s->fault.code)
                return fault(s, err);
        while (len > 0) {
                size_t take;

                switch (s->phase) {
                case PH_HEAD:
                        take = IMG_HEADER_LEN - s->have;
                        take = take < len ? take : len;
                        memcpy(sc->head + s->have, p, take);
                        s->have += take;
                        break;
                case PH_META:
                        take = sc->metadata_len - s->have;
                        take = take < len ? take : len;
                        memcpy(sc->metadata + s->have, p, take);
                        s->have += take;
                        break;
                case PH_PAYLOAD: {
                        uint64_t left = sc->hdr.payload_len - s->payload_done;
                        take = left < len ? (size_t)left : len;
                        cr_sha256_update(s->h_payload, p, take);
                        s->payload_done += take;
                        break;
                }
                case PH_SIGS:
                default:
                        if (s->have == 0 && sc->n_sigs == IMG_MAX_SIGNATURES) {
                                rp_err_set(&s->fault, -EBADMSG,
                                           "image package has data after %d signature records (the limit)",
                                           IMG_MAX_SIGNATURES);
                                return fault(s, err);
                        }
                        take = IMG_SIG_REC_LEN - s->have;
                        take = take < len ? take : len;
                        memcpy(s->rec + s->have, p, take);
                        s->have += take;
                        if (s->have == IMG_SIG_REC_LEN && take_record(s) < 0)
                                return fault(s, err);
                        break;
                }
                p += take;
                len -= take;
                s->fed += take;
                if (settle(s) < 0)
                        return fault(s, err);
        }
        return 0;
}

int img_stream_final(struct img_stream *s, struct cr_key *const *trusted, size_t n_trusted,
                     struct img_meta *ret, struct rp_err *err)
{
        const struct img_scan *sc = &s->scan;
        struct img_verified *v;
        int r;

        if (s->fault.code)
                return fault(s, err);
        switch (s->phase) {
        case PH_HEAD:
                return rp_err_set(err, -EBADMSG,
                                  "image package truncated: %zd bytes, the header alone is %d",
                                  (ssize_t)s->have, IMG_HEADER_LEN);
        case PH_META:
                return rp_err_set(err, -EBADMSG,
                                  "image package truncated in the metadata: %zd of %zu bytes",
                                  (ssize_t)s->have, sc->metadata_len);
        case PH_PAYLOAD:
                return rp_err_set(err, -EBADMSG,
                                  "image package truncated in the payload: %llu of %llu bytes",
                                  (unsigned long long)s->payload_done,
                                  (unsigned long long)sc->hdr.payload_len);
        case PH_SIGS:
        default:
                if (s->have > 0)
                        return rp_err_set(err, -EBADMSG,
                                          "image package truncated in signature record %zu: %zd of %d bytes",
                                          sc->n_sigs + 1, (ssize_t)s->have, IMG_SIG_REC_LEN);
                break;
        }
        v = malloc(sizeof(*v));
        if (!v)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = img_scan_verdict(sc, trusted, n_trusted, v, err);
        if (r == 0)
                r = img_meta_parse(v, ret, err);
        free(v);
        return r;
}
