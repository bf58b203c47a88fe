"""Three stateless nodes on one PostgreSQL and one shared blob directory, behind nginx, driven by b2sdk, boto3
and plain HTTP: through the balancer and against single nodes, with a node killed and the database stopped."""

import hashlib
import os
import random
import re
import threading
import time

import boto3
import botocore
import pytest
import requests

from cluster import Cluster, Node
from conftest import PART_SIZE, ROOT_ID, ROOT_KEY, free_port

pytestmark = pytest.mark.skipif(not os.path.isdir("/usr/lib/postgresql"), reason="PostgreSQL is not installed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("cluster")), nodes=3, extra_args=["--jobs-every", "1"])
    yield c
    c.stop()


def b2sdk_api(url):
    from b2sdk import v3
    api = v3.B2Api(v3.InMemoryAccountInfo())
    api.authorize_account(ROOT_ID, ROOT_KEY, realm=url)
    return api


def s3(url, **config):
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=ROOT_ID, aws_secret_access_key=ROOT_KEY, region_name="us-east-1",
                        config=botocore.config.Config(s3={"addressing_style": "path"}, **config))


def b2_session(url):
    auth = requests.get(url + "/b2api/v2/b2_authorize_account", auth=(ROOT_ID, ROOT_KEY), timeout=10).json()
    return auth["authorizationToken"], auth["accountId"]


def b2_call(node_url, token, op, **body):
    return requests.post(f"{node_url}/b2api/v2/{op}", headers={"Authorization": token}, json=body, timeout=30)


def on_node(url, node):
    """The same URL, sent straight to one node instead of through the balancer."""
    return re.sub(r"^http://127\.0\.0\.1:\d+", node.url, url)


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def test_background_jobs_run_on_one_node_at_a_time(cluster):
    time.sleep(4)
    runs = [len(re.findall(r'job="lifecycle".*background job ran|background job ran.*job="lifecycle"|job=lifecycle', n.log())) for n in cluster.nodes]
    assert sum(1 for r in runs if r > 0) == 1, runs
    assert max(runs) >= 2, runs


def test_a_node_with_another_master_key_refuses_to_join(cluster, tmp_path):
    stranger = Node(str(tmp_path), 9, cluster.pg.url, cluster.blobs, cluster.url).spawn(master_key="77" * 32)
    assert stranger.proc.wait(timeout=30) != 0
    assert "master key differs" in stranger.log()


def test_b2sdk_and_boto3_through_the_balancer_and_single_nodes(cluster):
    api = b2sdk_api(cluster.url)
    bucket = api.create_bucket("cluster-sdk", "allPrivate")
    files = {f"dir/file-{i:03}.bin": os.urandom(random.randint(0, 40_000)) for i in range(30)}
    for name, data in files.items():
        bucket.upload_bytes(data, name)
    # Every node lists and serves every file, whichever node took it.
    for node in cluster.nodes:
        node_api = b2sdk_api(node.url)
        node_bucket = node_api.get_bucket_by_name("cluster-sdk")
        listed = sorted(fv.file_name for fv, _ in node_bucket.ls("dir", recursive=True))
        assert listed == sorted(files)
        client = s3(node.url)
        for name in random.sample(sorted(files), 5):
            assert client.get_object(Bucket="cluster-sdk", Key=name)["Body"].read() == files[name]
    # boto3 through the balancer: a multipart upload whose parts land on different nodes.
    client = s3(cluster.url)
    upload = client.create_multipart_upload(Bucket="cluster-sdk", Key="multi.bin")
    parts, blob = [], b""
    for number in range(1, 4):
        piece = os.urandom(PART_SIZE if number < 3 else 1234)
        blob += piece
        etag = client.upload_part(Bucket="cluster-sdk", Key="multi.bin", UploadId=upload["UploadId"], PartNumber=number, Body=piece)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(Bucket="cluster-sdk", Key="multi.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts})
    for node in cluster.nodes:
        assert hashlib.sha1(s3(node.url).get_object(Bucket="cluster-sdk", Key="multi.bin")["Body"].read()).digest() == hashlib.sha1(blob).digest()


def test_large_file_started_on_one_node_uploaded_on_two_finished_through_the_balancer(cluster):
    first, second, third = cluster.nodes
    token, account = b2_session(first.url)
    bucket = b2_call(first.url, token, "b2_create_bucket", accountId=account, bucketName="cluster-large", bucketType="allPrivate").json()
    started = b2_call(first.url, token, "b2_start_large_file", bucketId=bucket["bucketId"], fileName="big.bin", contentType="b2/x-auto").json()
    pieces = [os.urandom(PART_SIZE), os.urandom(PART_SIZE), os.urandom(777)]
    for number, (piece, node) in enumerate(zip(pieces, [second, third, second]), start=1):
        target = b2_call(node.url, token, "b2_get_upload_part_url", fileId=started["fileId"]).json()
        answer = requests.post(on_node(target["uploadUrl"], node), data=piece, timeout=60, headers={
            "Authorization": target["authorizationToken"], "X-Bz-Part-Number": str(number), "X-Bz-Content-Sha1": sha1(piece)})
        assert answer.status_code == 200, answer.text
    listed = b2_call(third.url, token, "b2_list_parts", fileId=started["fileId"]).json()
    assert [p["partNumber"] for p in listed["parts"]] == [1, 2, 3]
    finished = b2_call(cluster.url, token, "b2_finish_large_file", fileId=started["fileId"], partSha1Array=[sha1(p) for p in pieces])
    assert finished.status_code == 200, finished.text
    whole = b"".join(pieces)
    for node in cluster.nodes:
        got = requests.get(f"{node.url}/file/cluster-large/big.bin", headers={"Authorization": token}, timeout=60)
        assert got.status_code == 200 and sha1(got.content) == sha1(whole)


def test_presigned_urls_made_on_one_node_work_on_the_others(cluster):
    # The balancer passes the Host the URL was signed for; each node checks the same signature.
    maker = s3(cluster.url)
    maker.create_bucket(Bucket="cluster-presigned")
    put_url = maker.generate_presigned_url("put_object", Params={"Bucket": "cluster-presigned", "Key": "p.txt"}, ExpiresIn=600)
    get_url = maker.generate_presigned_url("get_object", Params={"Bucket": "cluster-presigned", "Key": "p.txt"}, ExpiresIn=600)
    host = cluster.url.removeprefix("http://")
    first, second, third = cluster.nodes
    assert requests.put(on_node(put_url, second), data=b"signed elsewhere", headers={"Host": host}, timeout=10).status_code == 200
    for node in (first, third):
        got = requests.get(on_node(get_url, node), headers={"Host": host}, timeout=10)
        assert got.status_code == 200 and got.content == b"signed elsewhere"
    # A B2 download authorization made on one node works on another.
    token, account = b2_session(first.url)
    bucket_id = [b for b in b2_call(first.url, token, "b2_list_buckets", accountId=account).json()["buckets"]
                 if b["bucketName"] == "cluster-presigned"][0]["bucketId"]
    grant = b2_call(first.url, token, "b2_get_download_authorization", bucketId=bucket_id, fileNamePrefix="p", validDurationInSeconds=600).json()
    got = requests.get(f"{third.url}/file/cluster-presigned/p.txt?Authorization={grant['authorizationToken']}", timeout=10)
    assert got.status_code == 200 and got.content == b"signed elsewhere"


def test_a_console_session_survives_the_node_that_made_it(cluster):
    first, second, third = cluster.nodes
    console = {"x-stowage-console": "1"}
    signed_in = requests.post(first.url + "/_console/api/session", json={"keyId": ROOT_ID, "key": ROOT_KEY}, headers=console, timeout=10)
    assert signed_in.status_code == 200, signed_in.text
    cookie = {"stowage_console": signed_in.cookies["stowage_console"]}
    first.kill()
    try:
        info = requests.get(second.url + "/_console/api/session", cookies=cookie, timeout=10)
        assert info.status_code == 200 and info.json()["accountId"]
        buckets = requests.post(third.url + "/_console/api/b2/b2_list_buckets", json={}, cookies=cookie, headers=console, timeout=10)
        assert buckets.status_code == 200, buckets.text
        assert "cluster-presigned" in [b["bucketName"] for b in buckets.json()["buckets"]]
        # Signing out on one node signs out everywhere.
        assert requests.delete(third.url + "/_console/api/session", cookies=cookie, timeout=10).status_code == 204
        assert requests.get(second.url + "/_console/api/session", cookies=cookie, timeout=10).status_code == 204
    finally:
        first.start()


def test_kill_9_of_a_node_during_uploads_loses_no_acknowledged_file(cluster):
    api = b2sdk_api(cluster.url)
    bucket = api.create_bucket("cluster-crash", "allPrivate")
    attempted, acknowledged, failed = {}, {}, []
    stop = threading.Event()
    lock = threading.Lock()

    def writer(worker):
        n = 0
        while not stop.is_set():
            name = f"w{worker}/{n:05}"
            # Small files (kept in PostgreSQL) and larger ones (files in the shared directory).
            data = os.urandom(random.choice([100, 5_000, 60_000, 300_000]))
            with lock:
                attempted[name] = sha1(data)
            try:
                bucket.upload_bytes(data, name)
                with lock:
                    acknowledged[name] = sha1(data)
            except Exception as e:  # noqa: BLE001 - a failed upload is allowed; a lost acknowledged one is not
                with lock:
                    failed.append((name, data, repr(e)))
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    victim = cluster.nodes[1]
    time.sleep(1.5)
    victim.kill()
    time.sleep(1.5)
    # The victim comes back while the others are still taking uploads: clearing its own staging directory
    # must not touch theirs.
    victim.start()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) > 20, (len(acknowledged), failed[:3])
    # Clients' retries succeed.
    for name, data, _ in failed:
        bucket.upload_bytes(data, name)
        acknowledged[name] = sha1(data)
    for node in cluster.nodes:
        node_bucket = b2sdk_api(node.url).get_bucket_by_name("cluster-crash")
        listed = {fv.file_name: fv for fv, _ in node_bucket.ls(recursive=True)}
        # Nothing half-written is visible: every listed file is one that was sent, whole.
        assert set(acknowledged) <= set(listed), sorted(set(acknowledged) - set(listed))[:5]
        assert set(listed) <= set(attempted)
    reader = s3(cluster.nodes[2].url)
    for name, digest in acknowledged.items():
        assert sha1(reader.get_object(Bucket="cluster-crash", Key=name)["Body"].read()) == digest, name


def test_postgresql_stopped_mid_traffic_is_503_then_recovers(cluster):
    first, second, _ = cluster.nodes
    token, account = b2_session(first.url)
    client = s3(second.url, retries={"max_attempts": 1})
    client.create_bucket(Bucket="cluster-outage")
    client.put_object(Bucket="cluster-outage", Key="before", Body=b"kept")
    cluster.pg.stop()
    try:
        answer = b2_call(first.url, token, "b2_list_buckets", accountId=account)
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "service_unavailable" and answer.json()["status"] == 503
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            client.put_object(Bucket="cluster-outage", Key="during", Body=b"x" * 100)
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        ready = requests.get(first.url + "/_health/ready", timeout=10)
        assert ready.status_code == 503
        assert requests.get(first.url + "/_health/live", timeout=10).status_code == 200
    finally:
        cluster.pg.start()
    deadline = time.time() + 20
    while True:
        try:
            client.put_object(Bucket="cluster-outage", Key="after", Body=b"back")
            break
        except botocore.exceptions.ClientError:
            assert time.time() < deadline, "service did not resume"
            time.sleep(0.2)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="cluster-outage")["Contents"]]
    assert keys == ["after", "before"]
    assert b2_call(first.url, token, "b2_list_buckets", accountId=account).status_code == 200


def test_each_node_reports_its_store_latencies(cluster):
    for node in cluster.nodes:
        metrics = requests.get(node.url + "/_metrics", timeout=10).text
        found = re.findall(r'stowage_store_duration_seconds_count\{store="(\w+)",op="(\w+)"\} (\d+)', metrics)
        counts = {(store, op): int(n) for store, op, n in found}
        assert counts.get(("metadata", "get_key"), 0) > 0, metrics[-3000:]
        assert counts.get(("blobs", "ready"), 0) > 0
    # The first node answered during the PostgreSQL outage: its failed calls are counted.
    metrics = requests.get(cluster.nodes[0].url + "/_metrics", timeout=10).text
    errors = re.findall(r'stowage_store_errors_total\{store="metadata",op="\w+"\} (\d+)', metrics)
    assert sum(int(n) for n in errors) > 0


def test_queued_event_notifications_survive_every_node_dying(cluster):
    import http.server
    import json

    port = free_port()  # nothing listens there yet: the first attempts fail
    api = b2sdk_api(cluster.url)
    bucket = api.create_bucket("cluster-events", "allPrivate")
    bucket.set_notification_rules([
        {"name": "all", "eventTypes": ["b2:ObjectCreated:*"], "isEnabled": True, "objectNamePrefix": "",
         "targetConfiguration": {"targetType": "webhook", "url": f"http://127.0.0.1:{port}/hook"}, "maxEventsPerBatch": 1}])
    for i in range(3):
        bucket.upload_bytes(b"event", f"queued-{i}")
    time.sleep(0.5)
    for node in cluster.nodes:
        node.kill()
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.extend(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["events"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        for node in cluster.nodes:
            node.start()
        # The failing webhook may have got its rule suspended before the nodes died: setting the rules again
        # (as one does once the webhook is fixed) re-enables it; what was queued is still there either way.
        bucket.set_notification_rules(bucket.get_notification_rules())
        deadline = time.time() + 30
        while time.time() < deadline and len({e["objectName"] for e in received}) < 3:
            time.sleep(0.1)
        assert sorted({e["objectName"] for e in received}) == ["queued-0", "queued-1", "queued-2"]
    finally:
        receiver.shutdown()
