"""`meson install --destdir` puts every program, the SDK (library, headers,
pkg-config file), the systemd units and the documentation in place; the
installed programs run, the units start installed programs, and an example
app builds and links against the installed SDK through its pkg-config
file."""
import json
import os
import shlex
import re
import shutil
import subprocess

from conftest import BUILD, TOP, run


def options():
    p = run(["meson", "introspect", "--buildoptions", BUILD])
    return {o["name"]: o["value"] for o in json.loads(p.stdout)}


def prefix_of():
    opts = options()
    return opts["prefix"], opts["bindir"], opts["sbindir"], opts["libdir"], opts["datadir"]


def compiler():
    """The build's C compiler, and its sanitizer flags: an app links against
    a sanitizer build's librampart only with the same runtime."""
    cmds = json.loads((BUILD / "compile_commands.json").read_text())
    cc = [shlex.split(cmds[0]["command"])[0]]
    san = options().get("b_sanitize", "none")
    return cc + ([f"-fsanitize={san}"] if san != "none" else [])


def test_meson_install_destdir(tmp_path):
    stage = tmp_path / "stage"
    run(["meson", "install", "-C", BUILD, "--destdir", stage, "--no-rebuild", "--quiet"])
    prefix, bindir, sbindir, libdir, datadir = prefix_of()
    root = stage / prefix.lstrip("/")
    for rel in (f"{bindir}/rampart", f"{bindir}/rampart-server", f"{bindir}/rampart-sandbox-run",
                f"{bindir}/rampart-crashwatch", f"{sbindir}/rampart-boot", f"{sbindir}/rampart-device",
                f"{sbindir}/rampartd"):
        f = root / rel
        assert f.is_file() and os.access(f, os.X_OK), rel
        p = run([f, "--help"], check=False)
        assert p.returncode == 0 and "usage" in p.stdout.lower(), (rel, p.stdout, p.stderr)
    assert (root / libdir / "librampart.so.1").exists()
    for h in ("rampart.h", "tls.h"):
        assert (root / "include" / "rampart" / h).is_file()
    pc = root / libdir / "pkgconfig" / "rampart.pc"
    assert pc.is_file() and "Name: rampart" in pc.read_text()
    docs = root / datadir / "doc" / "rampart"
    for d in ("README.md", "quickstart.md", "threat-model.md", "deploy.md", "openapi.yaml"):
        assert (docs / d).is_file(), d
    # the units name the installed programs
    units = root / "lib" / "systemd" / "system"
    for unit, prog in (("rampart-server.service", f"{prefix}/{bindir}/rampart-server"),
                       ("rampart-device@.service", f"{prefix}/{sbindir}/rampart-device")):
        text = (units / unit).read_text()
        m = re.search(r"^ExecStart=(\S+)", text, re.M)
        assert m and os.path.normpath(m.group(1)) == os.path.normpath(prog), (unit, m and m.group(1))
        assert (stage / m.group(1).lstrip("/")).is_file()
        assert "@" not in m.group(1).replace("%i", "")
    if shutil.which("systemd-analyze"):
        # syntax only: the programs are in the stage, not on this system
        for unit in ("rampart-server.service", "rampart-device@.service"):
            p = subprocess.run(["systemd-analyze", "verify", "--man=no", str(units / unit)],
                               capture_output=True, text=True, timeout=60)
            bad = [l for l in p.stderr.splitlines()
                   if ("Unknown" in l or "Failed to parse" in l or "Invalid" in l)]
            assert not bad, p.stderr

    # an app built against the installed SDK, found by pkg-config
    env = dict(os.environ, PKG_CONFIG_PATH=str(pc.parent), PKG_CONFIG_SYSROOT_DIR=str(stage))
    flags = run(["pkg-config", "--cflags", "--libs", "rampart"], env=env).stdout.split()
    assert any(f.startswith("-I") and str(stage) in f for f in flags), flags
    exe = tmp_path / "crasher"
    run([*compiler(), "-o", exe, TOP / "examples" / "apps" / "crasher" / "crasher.c", *flags], env=env)
    p = run(["readelf", "-d", exe])
    assert "librampart.so.1" in p.stdout
