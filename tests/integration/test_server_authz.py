"""Authorization matrix, generated from the routes the server registers
(`rampart-server --print-routes`): every route x {no token, malformed
token, unknown token, revoked token, expired token, another tenant's token,
every role below the route's level, the wrong kind of token} gets 401, 403
or (for another tenant's objects) 404, and the store is unchanged after
each attempt.

A route added to the server is covered here without editing this file. To
give the "other tenant" case a real object instead of a guessed id, add
the path parameter's name to PARAM_FACTORIES."""
import datetime
import json
import os
import time

import pytest

from conftest import binary, run
from server_fixture import Server
from entity_fixture import Factory, add_manufacturer, make_product, registered_device


def _make_token(srv, tenant_id, admin):
    return srv.create_token(admin, "reader")["id"]


# path parameter name -> function(server, tenant_id, tenant_admin_token) -> id of
# an object of that tenant
PARAM_FACTORIES = {
    "tenant": lambda srv, tid, admin: tid,
    "token": _make_token,
    "product": lambda srv, tid, admin: make_product(srv, admin)["id"],
    "group": lambda srv, tid, admin: make_product(srv, admin)["device_groups"][0]["id"],
    "device": registered_device,
    "manufacturer": lambda srv, tid, admin: add_manufacturer(srv, Factory(), "mfg-authz").json()["id"],
}

LEVEL = {"reader": 1, "contributor": 2, "admin": 3}
ROLE_TOKENS = ("reader", "contributor", "admin", "platform")


def expected_for_role(auth, role):
    """None = allowed (not called), else the status a token of `role` must get."""
    if auth in ("none", "any"):
        return None
    if auth == "device":
        return 401
    if auth == "platform":
        return None if role == "platform" else 403
    if auth == "admin_or_platform":
        return None if role in ("platform", "admin") else 403
    if role == "platform":
        return 403
    return None if LEVEL[role] >= LEVEL[auth] else 403


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("authz")
    srv = Server(d / "data", ["--rate-limit", "0"]).start()
    try:
        boot = srv.bootstrap_token
        a_id, a_admin = srv.create_tenant("tenant-a")
        b_id, b_admin = srv.create_tenant("tenant-b")
        toks = {"admin": a_admin, "platform": boot}
        for role in ("reader", "contributor"):
            toks[role] = srv.create_token(a_admin, role)["token"]
        revoked = srv.create_token(a_admin, "admin")
        assert srv.api("DELETE", f"/api/v1/tokens/{revoked['id']}", a_admin).status_code == 200
        soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2))
        expired = srv.create_token(a_admin, "admin", expires_at=soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
        routes = json.loads(run([binary("rampart-server"), "--print-routes"]).stdout)
        # real objects of tenant A for every parameter we know how to make
        objs = {}
        for rt in routes:
            for seg in rt["pattern"].split("/"):
                if seg.startswith("{"):
                    name = seg[1:-1]
                    if name not in objs:
                        f = PARAM_FACTORIES.get(name)
                        objs[name] = f(srv, a_id, a_admin) if f else None
        while srv.api("GET", "/api/v1/whoami", expired["token"]).status_code != 401:
            time.sleep(0.2)
        yield {
            "srv": srv, "routes": routes, "toks": toks, "a_id": a_id, "b_admin": b_admin,
            "revoked": revoked["token"], "expired": expired["token"], "objs": objs,
        }
    finally:
        assert srv.stop() == 0


def fill(pattern, objs):
    out = []
    for seg in pattern.split("/"):
        if seg.startswith("{"):
            v = objs.get(seg[1:-1])
            out.append(v or f"{seg[1:4]}_{os.urandom(16).hex()}")
        else:
            out.append(seg)
    return "/".join(out)


def attempt(w, rt, token, expect, raw_auth=None, path=None, body=None):
    srv = w["srv"]
    path = path or fill(rt["pattern"], w["objs"])
    before = srv.db_dump()
    audit_before = srv.db_query("SELECT COUNT(*) FROM audit")[0][0]
    headers = {}
    if raw_auth is not None:
        headers["Authorization"] = raw_auth
    if body is None and rt["method"] != "GET":
        body = {}
    r = srv.api(rt["method"], path, token, json=body, headers=headers)
    assert r.status_code == expect, f"{rt['method']} {path}: got {r.status_code} want {expect}: {r.text}"
    err = r.json()["error"]
    assert err["code"] == {401: "unauthenticated", 403: "forbidden", 404: "not_found"}[expect]
    assert err["message"]
    if expect == 401:
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer") or rt["auth"] == "device"
    assert srv.db_dump() == before, f"{rt['method']} {path} changed the store"
    after = srv.db_query("SELECT COUNT(*) FROM audit")[0][0]
    # unauthenticated attempts leave no audit record; denied authenticated
    # writes leave exactly one, with the refusal
    if expect == 401 or rt["method"] == "GET":
        assert after == audit_before
    else:
        assert after == audit_before + 1
        st = srv.db_query("SELECT status FROM audit ORDER BY seq DESC LIMIT 1")[0][0]
        assert st == expect
    return r


def test_matrix_covers_registered_routes(world):
    names = {r["name"] for r in world["routes"]}
    assert {"tenant.create", "token.create", "token.revoke", "audit.list"} <= names
    # every route is protected except the two operational ones
    public = {r["name"] for r in world["routes"] if r["auth"] == "none"}
    # ... and the public EST endpoints (docs/attestation.md)
    assert public == {"ops.healthz", "ops.metrics", "est.nonce", "est.simpleenroll", "est.cacerts"}


def test_no_and_bad_credentials(world):
    n = 0
    for rt in world["routes"]:
        if rt["auth"] == "none":
            continue
        attempt(world, rt, None, 401)
        for bad in ("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer rpt_short",
                    "Bearer rpt_" + "!" * 43, "Bearer " + "rpt_" + "A" * 42 + "=",
                    "Bearer " + "rpt_" + "A" * 43,             # well-formed, unknown
                    "Bearer " + world["toks"]["admin"] + "x",
                    "Bearer " + world["toks"]["admin"][:-1]):
            attempt(world, rt, None, 401, raw_auth=bad)
        attempt(world, rt, world["revoked"], 401)
        attempt(world, rt, world["expired"], 401)
        n += 1
    assert n >= 10


def test_roles_below_level_forbidden(world):
    checked = 0
    for rt in world["routes"]:
        for role in ROLE_TOKENS:
            exp = expected_for_role(rt["auth"], role)
            if exp is None:
                continue
            attempt(world, rt, world["toks"][role], exp)
            checked += 1
    # reader on every write and contributor on every delete are among them
    writes = [r for r in world["routes"] if r["method"] != "GET" and r["auth"] not in ("none", "any")]
    deletes = [r for r in writes if r["method"] == "DELETE"]
    assert writes and deletes
    for rt in writes:
        assert expected_for_role(rt["auth"], "reader") in (403, 401), rt
    for rt in deletes:
        assert expected_for_role(rt["auth"], "contributor") in (403, 401), rt
    assert checked >= 10


def test_other_tenant_gets_not_found(world):
    """Tenant B's admin passes every tenant role check, but tenant A's
    objects do not exist for it: 404, never 403 or data."""
    checked = 0
    for rt in world["routes"]:
        params = [s[1:-1] for s in rt["pattern"].split("/") if s.startswith("{")]
        # public and device (mTLS) routes have no token whose tenant could
        # be the wrong one; the device routes check the certificate instead
        if not params or rt["auth"] in ("none", "any", "device"):
            continue
        exp = expected_for_role(rt["auth"], "admin")
        if exp is not None:
            attempt(world, rt, world["b_admin"], exp)
            continue
        attempt(world, rt, world["b_admin"], 404)
        checked += 1
        # and guessed ids of the right shape are 404 as well
        guessed = fill(rt["pattern"], {})
        attempt(world, rt, world["b_admin"], 404, path=guessed)
        # the object is looked up before the body is read: a body the
        # route would refuse still gets 404, not a 400 that tells the
        # other tenant nothing is wrong with the id
        if rt["method"] != "GET":
            attempt(world, rt, world["b_admin"], 404, body={"no_such_field": [1]})
    assert checked >= 2
