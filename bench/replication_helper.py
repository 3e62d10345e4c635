#!/usr/bin/env python3
"""Helpers of bench/replication.sh (standard library only).

  replication_helper.py big DIR TAG BYTES
      An OCI image layout in DIR with one image, tag TAG, whose single layer
      is a tar of one file of BYTES random (incompressible) bytes, gzipped
      with stored deflate blocks: a valid tar+gzip layer as large as its
      content, written without spending minutes in a compressor. Prints the
      layer blob's size in bytes.
  replication_helper.py small DIR COUNT BYTES
      One OCI layout in DIR holding COUNT distinct single-layer images
      (tags s1 ... sCOUNT), each layer BYTES random bytes.
  replication_helper.py execute URL TOKEN POLICY PID [INTERVAL [TIMEOUT]]
      POST /api/v2.0/replication/executions {policy_id} to the regeventd at
      URL, then GET the execution every INTERVAL s (default 0.05) until its
      status is no longer InProgress, reading the daemon's VmRSS and VmHWM
      (/proc/PID/status) before, at every poll and after. Prints one JSON
      object: seconds (POST to the poll that saw it done), the execution,
      the task outcomes and bytes, copy_seconds (first task start to last
      task end, the API's millisecond times) and the memory readings in KiB. Exit 1
      when the API fails, the daemon dies or TIMEOUT s (default 1800) pass.
"""

import datetime
import hashlib
import http.client
import json
import os
import sys
import tarfile
import time
import urllib.parse
import zlib

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CHUNK = 1 << 20


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_path(root, digest):
    return os.path.join(root, "blobs", "sha256", digest[len("sha256:"):])


def write_blob(root, data):
    digest = sha256(data)
    with open(blob_path(root, digest), "wb") as f:
        f.write(data)
    return digest


def write_layer(root, size, name):
    """Streams a gzipped tar holding `name` with `size` random bytes into the
    layout's blobs; returns (layer digest, layer size, diff_id)."""
    tar_hash = hashlib.sha256()
    gz_hash = hashlib.sha256()
    # wbits 31: a gzip wrapper; level 0: stored blocks, random data would
    # not get smaller anyway.
    gz = zlib.compressobj(0, zlib.DEFLATED, 31)
    partial = os.path.join(root, "blobs", "sha256", "partial")
    written = 0
    with open(partial, "wb") as out:

        def put(data):
            nonlocal written
            tar_hash.update(data)
            packed = gz.compress(data)
            if packed:
                gz_hash.update(packed)
                out.write(packed)
                written += len(packed)

        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        info.mtime = 0
        put(info.tobuf(format=tarfile.USTAR_FORMAT))
        left = size
        while left > 0:
            n = min(CHUNK, left)
            put(os.urandom(n))
            left -= n
        put(b"\0" * ((512 - size % 512) % 512) + b"\0" * 1024)
        tail = gz.flush()
        gz_hash.update(tail)
        out.write(tail)
        written += len(tail)
    digest = "sha256:" + gz_hash.hexdigest()
    os.replace(partial, blob_path(root, digest))
    return digest, written, "sha256:" + tar_hash.hexdigest()


def write_image(root, size, name):
    """One single-layer image in the layout; returns its index entry
    (without the tag annotation)."""
    layer, layer_size, diff_id = write_layer(root, size, name)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }, separators=(",", ":")).encode()
    config_digest = write_blob(root, config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest,
                   "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer,
                    "size": layer_size}],
    }, separators=(",", ":")).encode()
    return {"mediaType": OCI_MANIFEST, "digest": write_blob(root, manifest),
            "size": len(manifest)}, layer_size


def write_layout(root, images):
    """`images`: [(tag, entry)]; writes index.json and oci-layout."""
    manifests = []
    for tag, entry in images:
        entry = dict(entry)
        entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
        manifests.append(entry)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


def start_layout(root):
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)


def cmd_big(root, tag, size):
    start_layout(root)
    entry, layer_size = write_image(root, int(size), "random.bin")
    write_layout(root, [(tag, entry)])
    print(layer_size)


def cmd_small(root, count, size):
    start_layout(root)
    images = []
    for i in range(1, int(count) + 1):
        entry, _ = write_image(root, int(size), "small-%d.bin" % i)
        images.append(("s%d" % i, entry))
    write_layout(root, images)


def memory(pid):
    """{'rss': KiB, 'hwm': KiB} from /proc/PID/status; None once it is
    gone."""
    found = {}
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key[2:].lower()] = int(value.split()[0])
    except OSError:
        return None
    return found if len(found) == 2 else None


class Api:
    def __init__(self, url, token):
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                               timeout=30)
        self.headers = {"Authorization": "Bearer " + token,
                        "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, data, self.headers)
        answer = self.conn.getresponse()
        text = answer.read().decode("utf-8", "replace")
        return answer.status, text


def instant(text):
    """Seconds since the epoch of the API's `2026-12-05T20:16:41.733Z`;
    None for an empty or unknown form."""
    try:
        when = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def copy_span(tasks):
    """Seconds from the first task's start to the last task's end (the
    copies alone, without the listing and the workers' poll tick); None
    when a time is missing."""
    starts = [instant(t.get("start_time")) for t in tasks]
    ends = [instant(t.get("end_time")) for t in tasks]
    if not tasks or None in starts or None in ends:
        return None
    return round(max(ends) - min(starts), 3)


def fail(message):
    print("replication_helper: " + message, file=sys.stderr)
    sys.exit(1)


def tasks_of(api, execution):
    """Every task of the execution, page by page (page_size <= 100)."""
    tasks, page = [], 1
    while True:
        status, text = api.call(
            "GET", "/api/v2.0/replication/executions/%d/tasks"
            "?page=%d&page_size=100" % (execution, page))
        if status != 200:
            fail("GET tasks of execution %d: %d %s" % (execution, status, text))
        got = json.loads(text)
        tasks.extend(got)
        if len(got) < 100:
            return tasks
        page += 1


def cmd_execute(url, token, policy, pid, interval="0.05", timeout="1800"):
    api = Api(url, token)
    interval, timeout = float(interval), float(timeout)
    before = memory(pid)
    if before is None:
        fail("no daemon with PID %s" % pid)
    rss_max = before["rss"]
    started = time.monotonic()
    status, text = api.call("POST", "/api/v2.0/replication/executions",
                            {"policy_id": int(policy)})
    if status != 201:
        fail("POST execution of policy %s: %d %s" % (policy, status, text))
    execution = json.loads(text)["id"]
    polls = 0
    while True:
        status, text = api.call(
            "GET", "/api/v2.0/replication/executions/%d" % execution)
        done_at = time.monotonic()
        polls += 1
        if status != 200:
            fail("GET execution %d: %d %s" % (execution, status, text))
        x = json.loads(text)
        now = memory(pid)
        if now is None:
            fail("the daemon (PID %s) is gone" % pid)
        rss_max = max(rss_max, now["rss"])
        if x["status"] != "InProgress":
            break
        if done_at - started > timeout:
            fail("execution %d still InProgress after %.0f s: %s"
                 % (execution, timeout, text))
        time.sleep(interval)
    after = memory(pid) or now
    tasks = tasks_of(api, execution)
    errors = [t.get("error", "") for t in tasks if t.get("status") != "Succeed"]
    json.dump({
        "execution": x,
        "seconds": round(done_at - started, 3),
        "copy_seconds": copy_span(tasks),
        "polls": polls,
        "tasks": len(tasks),
        "tasks_succeed": sum(t.get("status") == "Succeed" for t in tasks),
        "tasks_skipped": sum(bool(t.get("skipped")) for t in tasks),
        "bytes_copied": sum(t.get("bytes_copied", 0) for t in tasks),
        "attempts": sum(t.get("attempts", 0) for t in tasks),
        "errors": errors[:5],
        "rss_before_kib": before["rss"],
        "rss_after_kib": after["rss"],
        "rss_max_sampled_kib": max(rss_max, after["rss"]),
        "hwm_before_kib": before["hwm"],
        "hwm_after_kib": after["hwm"],
    }, sys.stdout)
    print()


def main(argv):
    commands = {"big": (cmd_big, 3, 3), "small": (cmd_small, 3, 3),
                "execute": (cmd_execute, 4, 6)}
    if len(argv) < 2 or argv[1] not in commands:
        fail("usage: see the top of " + argv[0])
    command, least, most = commands[argv[1]]
    if not least <= len(argv) - 2 <= most:
        fail("%s takes %d to %d arguments" % (argv[1], least, most))
    command(*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
