"""Helpers for tests that need real registered devices: a manufacturer
(`rampart keys mfg-init`), devices provisioned by `rampart-device
provision` (real DICE DeviceIDs and registration records), the platform
operator registering both with a server, and products/groups/claims."""
import json
import os
import pathlib
import tempfile

from conftest import binary, run


class Factory:
    def __init__(self, workdir=None):
        self.dir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="rp-ent-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0
        self.plat_pub = self.dir / "platform.pub"
        if not self.plat_pub.exists():
            run([binary("rampart"), "keys", "generate", "--out", self.dir / "platform.key",
                 "--pub", self.plat_pub])

    def manufacturer(self, name="mfg"):
        d = self.dir / name
        if not (d / "root-ca.pem").exists():
            run([binary("rampart"), "keys", "mfg-init", "--out", d])
        return d

    def provision(self, count=1, mfg="mfg", debug=False):
        """Provisions `count` new devices; returns their records (dicts)."""
        d = self.manufacturer(mfg)
        out = []
        for _ in range(count):
            self.n += 1
            recs = self.dir / f"rec-{self.n}.jsonl"
            args = [binary("rampart-device"), "provision", self.dir / f"dev{self.n}", "--mfg-ca", d,
                    "--records", recs, "--platform-key", self.plat_pub]
            if debug:
                args.append("--debug")
            run(args)
            out.append(json.loads(recs.read_text().strip()))
        return out


def lines(records):
    return "".join(json.dumps(r) + "\n" for r in records)


def add_manufacturer(srv, factory, mfg="mfg", name=None):
    pem = (factory.manufacturer(mfg) / "root-ca.pem").read_text()
    body = {"root_pem": pem, "name": name or f"{mfg}-{factory.dir.name}"}
    r = srv.api("POST", "/api/v1/manufacturers", srv.bootstrap_token, json=body)
    assert r.status_code in (201, 409), r.text
    return r


def import_records(srv, records, token=None):
    return srv.api("POST", "/api/v1/registry/import", token or srv.bootstrap_token,
                   data=lines(records), headers={"Content-Type": "application/x-ndjson"})


def make_product(srv, admin, name=None):
    r = srv.api("POST", "/api/v1/products", admin, json={"name": name or "prod-" + os.urandom(4).hex()})
    assert r.status_code == 201, r.text
    return r.json()


def group_named(product, name):
    return next(g["id"] for g in product["device_groups"] if g["name"] == name)


_factories = {}


def registered_device(srv, tenant_id, admin):
    """A device provisioned, registered and claimed into the tenant's
    Development group; returns its UEID (for route parameter factories)."""
    f = _factories.setdefault(id(srv), Factory())
    add_manufacturer(srv, f)
    rec = f.provision(1)[0]
    r = import_records(srv, [rec])
    assert r.status_code == 200, r.text
    p = make_product(srv, admin)
    r = srv.api("POST", "/api/v1/devices", admin, json={"ueid": rec["ueid"],
                                                        "group": group_named(p, "Development")})
    assert r.status_code == 201, r.text
    return rec["ueid"]
