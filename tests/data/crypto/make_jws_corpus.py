#!/usr/bin/python3
"""Writes the JWS corpus (tests/fuzz/corpus/jws/): tokens signed outside
Rampart (openssl dgst + Python), valid ones and attacks. The corpus is both
the fuzzer's seed set and, through crypto_test.c, an interoperability and
refusal test: files named valid-* must verify with the key derived from the
32-byte seed 0x4a..4a (cr_key_from_seed), every other file must be refused.

Usage: make_jws_corpus.py OUTDIR"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_vectors as sv  # noqa: E402

N = sv.N
CLAIMS = b'{"eat_nonce":"AAECAwQFBgcICQoLDA0ODw","ueid":"0123456789abcdef","dbgstat":0}'


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_to_raw(der):
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = []
    for _ in range(2):
        assert der[i] == 0x02
        ln = der[i + 1]
        v = int.from_bytes(der[i + 2:i + 2 + ln], "big")
        out.append(v)
        i += 2 + ln
    return out[0].to_bytes(32, "big") + out[1].to_bytes(32, "big")


def es256(keyfile, signing_input):
    with tempfile.NamedTemporaryFile() as m:
        m.write(signing_input)
        m.flush()
        der = subprocess.run(["openssl", "dgst", "-sha256", "-keyform", "DER", "-sign", keyfile,
                              m.name], check=True, capture_output=True).stdout
    return der_to_raw(der), der


def token(keyfile, header, payload, sig_fn=None):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    si = (b64u(h) + "." + b64u(payload)).encode()
    raw, der = es256(keyfile, si)
    sig = sig_fn(raw, der) if sig_fn else raw
    return si.decode() + "." + b64u(sig)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    keys = {}
    for name, fill in (("good", 0x4a), ("other", 0x4b)):
        d = sv.scalar_from_seed(bytes([fill]) * 32)
        path = os.path.join(tmp, name + ".der")
        with open(path, "wb") as f:
            f.write(sv.sec1_der(d))
        keys[name] = path
    k = keys["good"]
    full = {"alg": "ES256", "kid": "device-key-1", "typ": "rampart-evidence+jwt"}
    files = {}
    files["valid-claims"] = token(k, full, CLAIMS)
    files["valid-nokid"] = token(k, {"alg": "ES256"}, b"hello")
    files["valid-empty-payload"] = token(k, {"alg": "ES256", "kid": "k"}, b"")
    files["valid-binary-payload"] = token(k, {"alg": "ES256"}, bytes(range(256)))
    files["valid-extra-header"] = token(k, {"alg": "ES256", "x5t#S256": "abc", "cty": "json"},
                                        b"{}")
    good = files["valid-claims"]
    h, p, s = good.split(".")
    files["alg-none"] = b64u(b'{"alg":"none"}') + "." + p + "."
    files["alg-none-sig"] = b64u(b'{"alg":"none"}') + "." + p + "." + s
    hs_si = (b64u(b'{"alg":"HS256","kid":"device-key-1"}') + "." + p).encode()
    files["alg-hs256"] = hs_si.decode() + "." + b64u(
        hmac.new(b"k" * 32, hs_si, hashlib.sha256).digest())
    files["alg-es384"] = token(k, {"alg": "ES384"}, CLAIMS)
    files["alg-lowercase"] = token(k, {"alg": "es256"}, CLAIMS)
    files["alg-missing"] = token(k, {"kid": "x"}, CLAIMS)
    files["alg-number"] = token(k, {"alg": 256}, CLAIMS)
    files["dup-alg"] = token(k, b'{"alg":"ES256","alg":"none"}', CLAIMS)
    files["crit"] = token(k, {"alg": "ES256", "crit": ["exp"], "exp": 1}, CLAIMS)
    files["b64-false"] = token(k, {"alg": "ES256", "b64": False, "crit": ["b64"]}, CLAIMS)
    files["kid-nul"] = token(k, b'{"alg":"ES256","kid":"a\\u0000b"}', CLAIMS)
    files["kid-number"] = token(k, {"alg": "ES256", "kid": 7}, CLAIMS)
    files["header-array"] = token(k, b'["ES256"]', CLAIMS)
    files["header-notjson"] = token(k, b'{"alg":"ES256"', CLAIMS)
    files["wrong-key"] = token(keys["other"], full, CLAIMS)
    files["tampered-payload"] = h + "." + b64u(CLAIMS.replace(b'"dbgstat":0', b'"dbgstat":1')) + "." + s
    files["tampered-header"] = b64u(b'{"alg":"ES256","kid":"device-key-2","typ":"rampart-evidence+jwt"}') + "." + p + "." + s
    files["sig-der"] = token(k, full, CLAIMS, lambda raw, der: der)
    files["sig-63"] = token(k, full, CLAIMS, lambda raw, der: raw[:63])
    files["sig-65"] = token(k, full, CLAIMS, lambda raw, der: raw + b"\0")
    files["sig-zero"] = h + "." + p + "." + b64u(bytes(64))
    files["sig-order"] = h + "." + p + "." + b64u(N.to_bytes(32, "big") + N.to_bytes(32, "big"))
    files["two-parts"] = h + "." + p
    files["four-parts"] = good + "." + s
    files["empty-header"] = "." + p + "." + s
    files["padded"] = h + "." + p + "." + s + "=="
    files["std-alphabet"] = good.replace("-", "+").replace("_", "/") if ("-" in good or "_" in good) else "+" + good
    files["trailing-newline"] = good + "\n"
    files["noncanonical-b64"] = h + "." + p + "." + s[:-1] + chr(ord(s[-1]) ^ 1)
    files["empty"] = ""
    files["dots-only"] = ".."
    for name, tok in files.items():
        with open(os.path.join(out, name + ".jws"), "w") as f:
            f.write(tok)
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
