"""docs/openapi.yaml against the server: every route rampart-server
registers is documented with its name as operationId and its auth level,
every documented operation is registered, path parameters are declared,
every $ref resolves, and real responses of a full walk through the API
(tenants, tokens, registry, products, groups, devices, CA, audit) validate
against the documented schemas of their status codes."""
import json
import pathlib
import re

import pytest
import yaml

from conftest import TOP, binary, run
from entity_fixture import Factory, add_manufacturer, group_named, import_records
from server_fixture import *  # noqa: F401,F403

DOC = TOP / "docs" / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def doc():
    return yaml.safe_load(DOC.read_text())


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        cur = doc
        for part in ref[2:].split("/"):
            assert part in cur, f"unresolved $ref {ref}"
            cur = cur[part]
        node = cur
    return node


def operations(doc):
    for path, item in doc["paths"].items():
        for m in METHODS:
            if m in item:
                yield m.upper(), path, item[m]


def registered():
    return json.loads(run([binary("rampart-server"), "--print-routes"]).stdout)


def test_document_shape(doc):
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["paths"]
    ids = [o["operationId"] for _, _, o in operations(doc)]
    assert len(ids) == len(set(ids)), "duplicate operationId"

    def walk(n):
        if isinstance(n, dict):
            if "$ref" in n:
                resolve(doc, n)
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)
    walk(doc)


def test_every_registered_route_is_documented_and_back(doc, server):
    routes = registered()
    live = server.api("GET", "/api/v1/_routes", server.bootstrap_token).json()["routes"]
    assert [(r["method"], r["pattern"]) for r in live] == [(r["method"], r["pattern"]) for r in routes]
    ops = {(m, p): o for m, p, o in operations(doc)}
    reg = {(r["method"], r["pattern"]): r for r in routes}
    missing = sorted(set(reg) - set(ops))
    extra = sorted(set(ops) - set(reg))
    assert not missing, f"registered but not in docs/openapi.yaml: {missing}"
    assert not extra, f"documented but not registered: {extra}"
    for key, rt in reg.items():
        o = ops[key]
        assert o["operationId"] == rt["name"], key
        assert o.get("x-rampart-auth") == rt["auth"], key
        assert (o.get("security") == []) == (rt["auth"] == "none"), key
        want = set(re.findall(r"\{(\w+)\}", rt["pattern"]))
        declared = {resolve(doc, p)["name"] for p in o.get("parameters", [])
                    if resolve(doc, p)["in"] == "path"}
        assert declared == want, (key, declared, want)
        for p in o.get("parameters", []):
            if resolve(doc, p)["in"] == "path":
                assert resolve(doc, p)["required"] is True
        codes = set(o["responses"])
        if rt["auth"] == "device":
            assert "401" in codes and o["security"] == [{"deviceCert": []}], key
        elif rt["auth"] != "none":
            assert {"401", "403"} <= codes, key
        if rt["method"] in ("PATCH", "PUT"):
            assert "requestBody" in o, key


# ---- a small validator for the schema subset the document uses ----

def check(doc, schema, v, where="$"):
    s = resolve(doc, schema)
    if "allOf" in s:
        for sub in s["allOf"]:
            check(doc, dict(resolve(doc, sub), additionalProperties=True), v, where)
        return
    if "oneOf" in s:
        errs = []
        for sub in s["oneOf"]:
            try:
                check(doc, sub, v, where)
                errs = None
                break
            except AssertionError as e:
                errs.append(str(e))
        assert errs is None, f"{where}: matches no oneOf: {errs}"
        return
    t = s.get("type")
    types = t if isinstance(t, list) else [t] if t else []
    pytypes = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list,
               "null": type(None)}
    if types:
        ok = any(isinstance(v, pytypes[x]) and not (x == "integer" and isinstance(v, bool)) for x in types)
        assert ok, f"{where}: {v!r} is not {types}"
    if v is None:
        return
    if "enum" in s:
        assert v in s["enum"], f"{where}: {v!r} not in {s['enum']}"
    if isinstance(v, str) and "pattern" in s:
        assert re.search(s["pattern"], v), f"{where}: {v!r} !~ {s['pattern']}"
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            assert k in v, f"{where}: missing {k}"
        for k, x in v.items():
            if k in props:
                check(doc, props[k], x, f"{where}.{k}")
            else:
                assert s.get("additionalProperties", True) is not False, f"{where}: undocumented member {k}"
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            check(doc, s["items"], x, f"{where}[{i}]")


def test_responses_match_documented_schemas(doc, server, tmp_path):
    ops = {(m, p): o for m, p, o in operations(doc)}
    seen = set()

    def call(method, pattern, token, path=None, **kw):
        r = server.api(method, path or pattern, token, **kw)
        o = ops[(method, pattern)]
        assert str(r.status_code) in o["responses"], f"{method} {pattern}: undocumented status {r.status_code}: {r.text}"
        resp = resolve(doc, o["responses"][str(r.status_code)])
        content = resp.get("content", {})
        ctype = r.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            assert "application/json" in content, f"{method} {pattern} {r.status_code}: JSON not documented"
            check(doc, content["application/json"]["schema"], r.json(), f"{method} {pattern} {r.status_code}")
        else:
            assert any(ctype.startswith(c.split(";")[0]) for c in content), (method, pattern, ctype)
        seen.add((method, pattern, r.status_code))
        return r

    boot = server.bootstrap_token
    call("GET", "/healthz", None)
    call("GET", "/metrics", None)
    call("GET", "/api/v1/_routes", boot)
    call("GET", "/api/v1/whoami", boot)
    t = call("POST", "/api/v1/tenants", boot, json={"name": "oa"}).json()
    tid, admin = t["tenant"]["id"], t["admin_token"]["token"]
    call("POST", "/api/v1/tenants", boot, json={"name": "oa"})          # 409
    call("GET", "/api/v1/tenants", boot)
    call("GET", "/api/v1/tenants/{tenant}", boot, path=f"/api/v1/tenants/{tid}")
    call("POST", "/api/v1/tenants/{tenant}/tokens", boot, path=f"/api/v1/tenants/{tid}/tokens",
         json={"role": "reader"})
    call("GET", "/api/v1/tenant", admin)
    tok = call("POST", "/api/v1/tokens", admin, json={"role": "contributor", "name": "ci"}).json()
    call("GET", "/api/v1/tokens", admin)
    call("GET", "/api/v1/tokens/{token}", admin, path=f"/api/v1/tokens/{tok['id']}")
    call("DELETE", "/api/v1/tokens/{token}", admin, path=f"/api/v1/tokens/{tok['id']}")
    call("GET", "/api/v1/tokens", None)                                # 401
    call("GET", "/api/v1/tenants", admin)                              # 403

    fac = Factory(tmp_path / "fac")
    root = (fac.manufacturer() / "root-ca.pem").read_text()
    m = call("POST", "/api/v1/manufacturers", boot, json={"root_pem": root}).json()
    call("GET", "/api/v1/manufacturers", boot)
    call("GET", "/api/v1/manufacturers/{manufacturer}", boot, path=f"/api/v1/manufacturers/{m['id']}")
    recs = fac.provision(2)
    body = "".join(json.dumps(r) + "\n" for r in recs)
    call("POST", "/api/v1/registry/import", boot, data=body,
         headers={"Content-Type": "application/x-ndjson"})
    call("POST", "/api/v1/registry/import", boot, json={"records": body})
    call("POST", "/api/v1/registry/import", boot, json={"records": body.replace('"debug": false', '"debug": 0')})
    call("GET", "/api/v1/registry", boot)
    call("GET", "/api/v1/registry/{device}", boot, path=f"/api/v1/registry/{recs[0]['ueid']}")

    p = call("POST", "/api/v1/products", admin, json={"name": "P"}).json()
    call("GET", "/api/v1/products", admin)
    call("GET", "/api/v1/products/{product}", admin, path=f"/api/v1/products/{p['id']}")
    call("PATCH", "/api/v1/products/{product}", admin, path=f"/api/v1/products/{p['id']}",
         json={"description": "d"})
    g = call("POST", "/api/v1/device-groups", admin, json={"product": p["id"], "name": "G"}).json()
    call("GET", "/api/v1/device-groups", admin, path=f"/api/v1/device-groups?product={p['id']}")
    call("GET", "/api/v1/device-groups/{group}", admin, path=f"/api/v1/device-groups/{g['id']}")
    call("PATCH", "/api/v1/device-groups/{group}", admin, path=f"/api/v1/device-groups/{g['id']}",
         json={"os_feed": "nightly"})                                  # 400
    call("PATCH", "/api/v1/device-groups/{group}", admin, path=f"/api/v1/device-groups/{g['id']}",
         json={"os_feed": "retail-eval"})
    u = recs[0]["ueid"]
    call("POST", "/api/v1/devices", admin, json={"ueid": u, "group": g["id"]})
    call("POST", "/api/v1/devices", admin, json={"ueid": u, "group": g["id"]})   # 409
    call("GET", "/api/v1/devices", admin)
    call("GET", "/api/v1/devices/{device}", admin, path=f"/api/v1/devices/{u}")
    call("GET", "/api/v1/devices/{device}", admin, path=f"/api/v1/devices/{recs[1]['ueid']}")  # 404
    call("POST", "/api/v1/devices/{device}/move", admin, path=f"/api/v1/devices/{u}/move",
         json={"group": group_named(p, "Production") if "device_groups" in p else g["id"]})
    call("POST", "/api/v1/devices/{device}/block", admin, path=f"/api/v1/devices/{u}/block",
         json={"reason": "r"})
    call("POST", "/api/v1/devices/{device}/unblock", admin, path=f"/api/v1/devices/{u}/unblock")
    call("GET", "/api/v1/ca", admin)
    call("GET", "/api/v1/ca/bundle", admin)
    call("POST", "/api/v1/ca/rotate", admin)
    call("POST", "/api/v1/ca/rotate", admin)
    call("GET", "/api/v1/audit", admin)
    est = f"/.well-known/est/{tid}"
    call("POST", "/.well-known/est/{tenant}/nonce", None, path=f"{est}/nonce")
    call("POST", "/.well-known/est/{tenant}/nonce", None, path="/.well-known/est/ten_" + "0" * 32 + "/nonce")
    call("GET", "/.well-known/est/{tenant}/cacerts", None, path=f"{est}/cacerts")
    call("GET", "/.well-known/est/{tenant}/cacerts", None, path=f"{est}/cacerts",
         headers={"Accept": "application/x-pem-file"})
    call("POST", "/.well-known/est/{tenant}/simpleenroll", None, path=f"{est}/simpleenroll",
         json={"csr": "AA", "evidence": "x", "chain": ["a", "b", "c"]})
    call("POST", "/.well-known/est/{tenant}/simplereenroll", None, path=f"{est}/simplereenroll",
         json={"csr": "AA", "evidence": "x", "chain": ["a", "b", "c"]})
    call("POST", "/api/v1/os-releases", boot,
         json={"name": "rampart-os", "version": "1.0", "svn": 1, "sha256": "ab" * 32})
    call("GET", "/api/v1/os-releases", admin)
    call("GET", "/api/v1/attestation/settings", admin)
    call("PUT", "/api/v1/attestation/settings", admin, json={"svn_floor": 1})
    call("GET", "/api/v1/devices/{device}/certificates", admin, path=f"/api/v1/devices/{u}/certificates")
    call("POST", "/device/v1/failures", None, json={"batch_id": "0" * 32, "dropped": 0, "events": []})
    call("GET", "/device/v1/ping", None)
    call("GET", "/api/v1/failures/buckets", admin)
    call("GET", "/api/v1/failures/buckets/{bucket}", admin, path="/api/v1/failures/buckets/" + "ab" * 16)
    call("GET", "/api/v1/failures/events", admin)
    call("GET", "/api/v1/failures/events", admin, path="/api/v1/failures/events?format=csv")
    # update repository, images, deployments, director (docs/updates.md section 6)
    jh = {"Content-Type": "application/json"}
    call("GET", "/api/v1/repo/keys", admin)
    call("POST", "/api/v1/repo/root", boot, data="{}", headers=jh)                  # 400
    call("POST", "/api/v1/repo/targets", boot, data="{}", headers=jh)               # 409: no root
    call("POST", "/api/v1/repo/delegated", admin, data="{}", headers=jh)            # 409: no role
    call("PUT", "/api/v1/repo/delegations/{role}", boot, path="/api/v1/repo/delegations/oa",
         json={"tenant_id": tid})
    call("GET", "/api/v1/repo/metadata/{file}", admin, path="/api/v1/repo/metadata/root.json")  # 404
    call("POST", "/api/v1/images", admin, json={"targets": "{}", "package": "AA"})  # 409: no root
    call("GET", "/api/v1/images", admin)
    call("GET", "/api/v1/images/{image}", admin, path="/api/v1/images/img_" + "0" * 32)
    call("POST", "/api/v1/os-images", boot, json={"targets": "{}", "package": "AA"})
    call("GET", "/api/v1/os-images", boot)
    call("POST", "/api/v1/deployments", admin, json={"group": g["id"], "images": ["img_" + "0" * 32]})
    call("GET", "/api/v1/deployments", admin)
    call("GET", "/api/v1/deployments/{deployment}", admin,
         path="/api/v1/deployments/dep_" + "0" * 32)
    up = call("POST", "/api/v1/images/uploads", admin).json()["id"]
    call("POST", "/api/v1/images/uploads/{upload}", admin, path=f"/api/v1/images/uploads/{up}",
         json={"offset": 0, "data": "AAEC"})
    call("POST", "/api/v1/images/uploads/{upload}", admin, path=f"/api/v1/images/uploads/{up}",
         json={"offset": 0, "data": "AAEC"})                                        # 409
    up = call("POST", "/api/v1/os-images/uploads", boot).json()["id"]
    call("POST", "/api/v1/os-images/uploads/{upload}", boot,
         path=f"/api/v1/os-images/uploads/{up}", json={"offset": 0, "data": "AAEC"})
    call("POST", "/device/v1/checkin", None, json={"root_version": 1, "installed": []})
    call("GET", "/device/v1/metadata/{file}", None, path="/device/v1/metadata/root.json")
    call("GET", "/device/v1/images/{sha256}", None, path="/device/v1/images/" + "ab" * 32)
    # development capability (docs/sdk.md)
    run([binary("rampart"), "keys", "generate", "--out", tmp_path / "dev.key", "--pub", tmp_path / "dev.pub"])
    capp = f"/api/v1/devices/{u}/capabilities/development"
    call("POST", "/api/v1/devices/{device}/capabilities/development", admin, path=capp,
         json={"public_keys": [(tmp_path / "dev.pub").read_text()]})
    call("POST", "/api/v1/devices/{device}/capabilities/development", admin, path=capp,
         json={"public_keys": ["not a key"]})                                       # 400
    call("GET", "/device/v1/capabilities/development", None)                        # 401
    called = {(m_, p_) for m_, p_, _ in seen}
    assert called == set(ops), f"not exercised: {sorted(set(ops) - called)}"
