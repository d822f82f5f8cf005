#!/usr/bin/python3
"""Debian's matrix-nio (r0 API, strict response schemas) registers, chats and syncs against lotse."""
import asyncio
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from nio import AsyncClient, LoginResponse, RegisterResponse, RoomCreateResponse, RoomSendResponse, SyncResponse, JoinResponse

LOTSE = os.environ.get("LOTSE_BIN", os.path.join(os.path.dirname(__file__), "../../build/server/lotse"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_call(base, token, method, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as res:
        return json.load(res)


def provision(base, tmp):
    """Bootstraps the administrator and creates two counselors (only staff may create rooms)."""
    # The one-time request lotse-admin bootstrap writes: only the token's hash and an expiry.
    token = secrets.token_urlsafe(32)
    with open(os.path.join(tmp, "data", "admin-bootstrap.request"), "w") as f:
        f.write(f"lotse-bootstrap-v1 {hashlib.sha256(token.encode()).hexdigest()} {int(time.time() * 1000) + 600000}\n")
    boot = admin_call(base, "", "POST", "/_lotse/admin/v1/bootstrap", {"bootstrap_token": token})
    token = boot["access_token"]
    admin_call(base, token, "POST", "/_lotse/admin/v1/agencies", {"agency_id": "mitte", "name": "Mitte"})
    admin_call(base, token, "POST", "/_lotse/admin/v1/topics", {"topic_id": "wohnen", "name": "Wohnen"})
    for name in ("alice", "bob"):
        admin_call(base, token, "POST", "/_lotse/admin/v1/counselors",
                   {"username": name, "password": f"pw-{name}-long", "display_name": name, "agency": "mitte",
                    "languages": ["de"], "topics": ["wohnen"]})


def start_server(tmp):
    port = free_port()
    cfg = os.path.join(tmp, "lotse.toml")
    with open(cfg, "w") as f:
        f.write(f'server_name = "localhost"\nlisten_port = {port}\ndata_dir = "{tmp}/data"\n'
                '[rate_limits]\nenabled = false\n[security]\npassword_hash = "minimal"\n')
    proc = subprocess.Popen([LOTSE, "--config", cfg], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 15
    while time.time() < deadline:
        line = proc.stdout.readline()
        if '"lotse started"' in line:
            return proc, f"http://127.0.0.1:{port}"
    proc.kill()
    raise RuntimeError("lotse did not start")


async def scenario(base):
    alice = AsyncClient(base, "@alice:localhost")
    bob = AsyncClient(base, "@bob:localhost")
    carol = AsyncClient(base, "carol")
    try:
        # Self-registration (seekers) through nio's r0 register call.
        assert isinstance(await carol.register("carol", "pw-carol"), RegisterResponse)
        for client, pw in ((alice, "pw-alice-long"), (bob, "pw-bob-long")):
            login = await client.login(pw, device_name="nio")
            assert isinstance(login, LoginResponse), login

        room = await alice.room_create(name="nio room", invite=["@bob:localhost"])
        assert isinstance(room, RoomCreateResponse), room
        first = await bob.sync(timeout=0)
        assert isinstance(first, SyncResponse), first
        assert room.room_id in first.rooms.invite, "bob sees the invite"
        assert isinstance(await bob.join(room.room_id), JoinResponse)
        sent = await alice.room_send(room.room_id, "m.room.message", {"msgtype": "m.text", "body": "hallo nio"})
        assert isinstance(sent, RoomSendResponse), sent
        resp = await bob.sync(timeout=5000, since=first.next_batch)
        assert isinstance(resp, SyncResponse), resp
        bodies = [getattr(e, "body", None) for e in resp.rooms.join[room.room_id].timeline.events]
        assert "hallo nio" in bodies, bodies
        print("nio: register, login, create, invite, join, send and sync all passed")
    finally:
        await alice.close()
        await bob.close()
        await carol.close()


def main():
    tmp = tempfile.mkdtemp(prefix="lotse-nio-")
    proc, base = start_server(tmp)
    try:
        provision(base, tmp)
        asyncio.run(scenario(base))
        ok = True
    except Exception as e:  # report and fail
        print(f"nio scenario failed: {e!r}")
        ok = False
    finally:
        proc.terminate()
        code = proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    # A clean SIGTERM shutdown exits 0; a sanitizer report (LOTSE_SANITIZE builds, printed on the
    # inherited stderr) aborts or, for leaks at exit, exits non-zero.
    if code != 0:
        print(f"lotse exited with {code}")
        ok = False
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
