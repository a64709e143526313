"""Probe what the s3rver test server enforces. Not a test: run it by hand.

    .venv/bin/python tests/servers/probe_s3.py

Prints one line per check: OK (matched the expectation), DIFF (did not) or INFO
(no expectation, we only want to know). Exits 1 if any check is DIFF.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import requests
from botocore.client import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.servers.s3 import S3Server  # noqa: E402

failures: list[str] = []


def check(label: str, got: Any, expected: Any = None) -> None:
    """Print a result; ``expected=None`` means informational only."""
    if expected is None:
        print(f"INFO {label}: {got}")
    elif got == expected:
        print(f"OK   {label}: {got}")
    else:
        print(f"DIFF {label}: got {got!r}, expected {expected!r}")
        failures.append(label)


def client(s3: S3Server, secret: str | None = None, access: str | None = None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.region,
        aws_access_key_id=access or s3.access_key,
        aws_secret_access_key=secret or s3.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def presign_put(c: Any, bucket: str, key: str, n: int, expires: int = 300) -> str:
    return c.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": key, "ContentType": "image/jpeg", "ContentLength": n},
        ExpiresIn=expires,
    )


def error_code(resp: requests.Response) -> str:
    start = resp.text.find("<Code>")
    return resp.text[start + 6 : resp.text.find("</Code>")] if start >= 0 else "-"


def main() -> None:
    t0 = time.monotonic()
    with S3Server(access_key="uploadkit-key", secret_key="uploadkit-secret") as s3:
        print(f"started {s3.endpoint_url} bucket={s3.bucket} in {time.monotonic() - t0:.2f}s")
        c = client(s3)
        bucket, n = s3.bucket, 1024
        body = os.urandom(n)
        jpeg = {"Content-Type": "image/jpeg"}

        # a. presigned PUT with signed Content-Type and Content-Length
        url = presign_put(c, bucket, "a.jpg", n)
        signed = parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0]
        check("a. X-Amz-SignedHeaders in presigned URL", signed)
        r = requests.put(url, data=body, headers=jpeg)
        check("a. presigned PUT, same type, exact N bytes", r.status_code, 200)

        # b. different Content-Type
        r = requests.put(url, data=body, headers={"Content-Type": "image/png"})
        check("b. different Content-Type", (r.status_code, error_code(r)), (403, "SignatureDoesNotMatch"))

        # c. body length differs from the signed ContentLength
        for delta in (1, -1):
            r = requests.put(presign_put(c, bucket, f"c{delta}.jpg", n), data=os.urandom(n + delta), headers=jpeg)
            check(f"c. body of N{delta:+d} bytes", (r.status_code, error_code(r)), (403, "SignatureDoesNotMatch"))
        unsized = c.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "c-unsized.jpg", "ContentType": "image/jpeg"}
        )
        r = requests.put(unsized, data=os.urandom(n + 1), headers=jpeg)
        check("c. URL presigned WITHOUT ContentLength, N+1 bytes (length unenforced)", r.status_code)

        # d. tampered signature
        sig = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
        bad = url.replace(sig, sig[:-1] + ("0" if sig[-1] != "0" else "1"))
        r = requests.put(bad, data=body, headers=jpeg)
        check("d. tampered X-Amz-Signature", (r.status_code, error_code(r)), (403, "SignatureDoesNotMatch"))

        # e. expired URL
        short = presign_put(c, bucket, "e.jpg", n, expires=1)
        time.sleep(2)
        r = requests.put(short, data=body, headers=jpeg)
        check("e. expired URL (ExpiresIn=1, slept 2s)", (r.status_code, error_code(r)), (403, "AccessDenied"))

        # f. wrong secret / wrong access key
        r = requests.put(presign_put(client(s3, secret="wrong"), bucket, "f.jpg", n), data=body, headers=jpeg)
        check("f. presigned with wrong secret", (r.status_code, error_code(r)), (403, "SignatureDoesNotMatch"))
        try:
            client(s3, secret="wrong").head_object(Bucket=bucket, Key="a.jpg")
            check("f. head_object with wrong secret", 200, 403)
        except ClientError as e:
            check("f. head_object with wrong secret", e.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        r = requests.put(presign_put(client(s3, access="S3RVER", secret="S3RVER"), bucket, "f2.jpg", n), data=body, headers=jpeg)
        check("f. default S3RVER/S3RVER key after override", (r.status_code, error_code(r)), (403, "InvalidAccessKeyId"))
        r = requests.put(f"{s3.endpoint_url}/{bucket}/anon.jpg", data=body, headers=jpeg)
        check("f. UNSIGNED anonymous PUT (no auth at all)", r.status_code)

        # g. head_object
        h = c.head_object(Bucket=bucket, Key="a.jpg")
        check("g. head_object ContentLength/ContentType", (h["ContentLength"], h["ContentType"]), (n, "image/jpeg"))
        check("g. head_object ETag", h["ETag"])

        # h. delete_objects with 1,000 keys (999 real + 1 missing)
        keys = [f"bulk/{i:04d}" for i in range(999)]
        t = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: c.put_object(Bucket=bucket, Key=k, Body=b"x"), keys))
        print(f"     (put 999 objects in {time.monotonic() - t:.1f}s)")
        t = time.monotonic()
        res = c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in [*keys, "bulk/missing"]]})
        check("h. delete_objects 1000 keys: len(Deleted), Errors", (len(res.get("Deleted", [])), res.get("Errors", [])), (1000, []))
        print(f"     (delete_objects took {time.monotonic() - t:.2f}s)")
        left = c.list_objects_v2(Bucket=bucket, Prefix="bulk/").get("KeyCount")
        check("h. objects left under bulk/", left, 0)
        res = c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "never-existed"}]})
        check("h. delete_objects on a missing key", {k: res.get(k) for k in ("Deleted", "Errors")})
        res = c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "never-existed"}], "Quiet": True})
        check("h. same with Quiet=True", {k: res.get(k) for k in ("Deleted", "Errors")})
        try:
            c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})
            check("h. delete_objects 1001 keys", "accepted")
        except ClientError as e:
            check("h. delete_objects 1001 keys", e.response["Error"]["Code"])

        # i. CORS preflight and actual CORS response
        pre = requests.options(
            f"{s3.endpoint_url}/{bucket}/a.jpg",
            headers={
                "Origin": "http://app.example.test",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        cors = {k: v for k, v in pre.headers.items() if k.lower().startswith("access-control-")}
        check("i. OPTIONS preflight status", pre.status_code, 200)
        check("i. preflight Access-Control-Allow-Origin", cors.get("Access-Control-Allow-Origin"), "*")
        check("i. preflight headers", cors)
        get = requests.get(c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a.jpg"}),
                           headers={"Origin": "http://app.example.test"})
        check("i. GET with Origin: Access-Control-Expose-Headers", get.headers.get("Access-Control-Expose-Headers"), "ETag")
        pre = requests.options(f"{s3.endpoint_url}/{bucket}/a.jpg", headers={"Access-Control-Request-Method": "PUT"})
        check("i. OPTIONS without Origin", (pre.status_code, error_code(pre)))

        # j. get_object
        got = c.get_object(Bucket=bucket, Key="a.jpg")["Body"].read()
        check("j. get_object returns the uploaded bytes", got == body, True)

        # k. stop / restart on the same port and data dir
        s3.stop()
        try:
            c.head_object(Bucket=bucket, Key="a.jpg")
            check("k. request while stopped", "answered")
        except Exception as e:  # noqa: BLE001 - we want to see what the client raises
            check("k. request while stopped raises", type(e).__name__)
        t = time.monotonic()
        s3.start()
        print(f"     (restart took {time.monotonic() - t:.2f}s, endpoint {s3.endpoint_url})")
        got = c.get_object(Bucket=bucket, Key="a.jpg")["Body"].read()
        check("k. object survives restart", got == body, True)
        r = requests.put(presign_put(c, bucket, "k.jpg", n), data=body, headers=jpeg)
        check("k. custom credentials still valid after restart", r.status_code, 200)

    print(f"\n{len(failures)} unexpected result(s)" + (f": {failures}" if failures else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
