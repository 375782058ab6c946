#!/usr/bin/python3
"""Rampart demo: the signed-image path, narrated.

Generates a publisher key, packs and signs the sample app in
examples/apps/hello, verifies it, shows that a tampered copy and a package
checked against the wrong key are both refused (with the reason), and
extracts and runs the verified app. Every step checks that it did what it
claims; the demo exits 0 only if all of them did.

Runs in a temporary directory that is removed on every exit path,
including Ctrl-C.

usage: tools/demo.py [--build BUILD_DIR]
"""
import argparse
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile

TOP = pathlib.Path(__file__).resolve().parents[1]
APP = TOP / "examples" / "apps" / "hello"
APP_ID = "7d3f9a1c-2b4e-4c8a-9f6d-1e5a3b7c9d20"


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, rampart: str, work: pathlib.Path):
        self.rampart = rampart
        self.work = work
        self.step_no = 0

    def step(self, title: str):
        self.step_no += 1
        print(f"\n==> {self.step_no}. {title}", flush=True)

    def say(self, text: str):
        print(f"    {text}", flush=True)

    def rampart_cmd(self, *args, expect_rc=0):
        """Runs `rampart ARGS` in the work dir, shows command and output,
        and checks the exit code."""
        shown = " ".join(str(a) for a in ("rampart",) + args)
        print(f"    $ {shown}", flush=True)
        p = subprocess.run([self.rampart, *map(str, args)], cwd=self.work,
                           capture_output=True, text=True, timeout=120)
        for line in (p.stdout + p.stderr).splitlines():
            print(f"      {line}")
        if p.returncode != expect_rc:
            raise StepFailed(f"'{shown}' exited {p.returncode}, expected {expect_rc}")
        return p

    @staticmethod
    def expect(cond: bool, what: str):
        if not cond:
            raise StepFailed(what)

    def run(self):
        self.step("Create the publisher's signing key (ECDSA P-256)")
        p = self.rampart_cmd("keys", "generate", "--out", "publisher.key", "--pub", "publisher.pub")
        self.expect("key id:" in p.stdout, "no key id printed")
        key_id = p.stdout.split("key id:")[1].split()[0]
        mode = (self.work / "publisher.key").stat().st_mode & 0o777
        self.expect(mode == 0o600, f"private key has mode {oct(mode)}, expected 0600")
        self.say(f"private key stays with the publisher (mode 0600); devices get only publisher.pub")

        self.step("Pack the sample app (examples/apps/hello) into an image package")
        self.rampart_cmd("image", "pack", APP, "--out", "hello.rpi", "--name", "hello",
                         "--type", "app", "--version", "1.0.0", "--svn", "1",
                         "--component-id", APP_ID, "--hw-compat", "rampart-emu")
        p = self.rampart_cmd("image", "info", "hello.rpi")
        self.expect("UNVERIFIED" in p.stdout and "(unsigned)" in p.stdout,
                    "a fresh package should be unsigned and shown as unverified")
        self.say("not signed yet: `info` shows the metadata but vouches for none of it")

        self.step("Sign the package")
        p = self.rampart_cmd("image", "sign", "hello.rpi", "--key", "publisher.key")
        self.expect(f"key id: {key_id}" in p.stdout, "signature not by the publisher's key")

        self.step("Verify it against the publisher's public key")
        p = self.rampart_cmd("image", "verify", "hello.rpi", "--trust", "publisher.pub")
        self.expect("VERIFIED: signed by trusted key" in p.stdout, "package did not verify")
        self.say("one streaming pass: signature over header+metadata, then the payload digest")

        self.step("Tamper with a copy: change one byte of the app inside the package")
        data = bytearray((self.work / "hello.rpi").read_bytes())
        needle = b"Hello from Rampart"
        at = data.find(needle)
        self.expect(at > 0, "sample app text not found in the package")
        data[at] = ord("J")
        (self.work / "tampered.rpi").write_bytes(bytes(data))
        self.say(f"byte {at}: 'H' -> 'J' (\"Jello from Rampart\")")
        p = self.rampart_cmd("image", "verify", "tampered.rpi", "--trust", "publisher.pub", expect_rc=1)
        self.expect("payload was modified" in p.stderr, "tampered copy refused for the wrong reason")
        self.say("refused: the payload no longer matches the digest the signature covers")
        p = self.rampart_cmd("image", "extract", "tampered.rpi", "--trust", "publisher.pub",
                             "--to", "tampered-app", expect_rc=1)
        self.expect(not (self.work / "tampered-app").exists(), "tampered package left files behind")
        self.say("and extraction of it writes nothing")

        self.step("Check the genuine package against a key that did not sign it")
        self.rampart_cmd("keys", "generate", "--out", "stranger.key", "--pub", "stranger.pub")
        p = self.rampart_cmd("image", "verify", "hello.rpi", "--trust", "stranger.pub", expect_rc=1)
        self.expect("unknown key id" in p.stderr, "untrusted signer refused for the wrong reason")
        self.say("refused: a valid signature means nothing unless its key is trusted")

        self.step("Extract the verified app and run it")
        self.rampart_cmd("image", "extract", "hello.rpi", "--trust", "publisher.pub", "--to", "installed")
        entry = self.work / "installed" / "bin" / "hello"
        self.expect(entry.is_file() and os.access(entry, os.X_OK), "entry point missing after extract")
        cmd = [str(entry), "--greeting", "Hello from Rampart (verified)"]
        print(f"    $ installed/bin/hello --greeting 'Hello from Rampart (verified)'")
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        print(f"      {out.stdout.strip()}")
        self.expect(out.returncode == 0 and "verified" in out.stdout, "the app did not run")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="meson build directory (default: build)")
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    if not build.is_absolute():
        build = TOP / build
    rampart = build / "src" / "cli" / "rampart"
    if not os.access(rampart, os.X_OK):
        print(f"demo: {rampart} is not built (run `make` first)", file=sys.stderr)
        return 1

    # SIGTERM takes the same clean-up path as Ctrl-C
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    work = pathlib.Path(tempfile.mkdtemp(prefix="rampart-demo-"))
    demo = Demo(str(rampart), work)
    try:
        print(f"Rampart demo: signed image packages (work dir {work}, removed at the end)",
              flush=True)
        demo.run()
    except StepFailed as e:
        print(f"\nDEMO FAILED at step {demo.step_no}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        # a second Ctrl-C must not cut the clean-up short
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nDemo complete: all {demo.step_no} steps did what they claim.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
