"""The reference text's Python and curl examples, unchanged but for the base URL, on a live server."""

import json
import subprocess
from urllib.parse import quote

import pytest
import requests

from django_uploadkit.models import File

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def profile_jpg(tmp_path):
    path = tmp_path / "profile.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 800)  # 204,804 bytes
    return path


def test_the_python_requests_examples_run_unchanged(live_server, api_key, profile_jpg, monkeypatch):
    base = live_server.url
    monkeypatch.chdir(profile_jpg.parent)
    size = profile_jpg.stat().st_size

    # Request a presigned URL
    response = requests.post(
        f'{base}/api/v1/upload/request',
        headers={
            'x-api-key': api_key,
            'Content-Type': 'application/json',
        },
        json={
            'fileName': 'profile.jpg',
            'fileSize': size,
            'contentType': 'image/jpeg',
            'routeSlug': 'imageUploader',
        },
    )

    data = response.json()
    file_id = data['fileId']
    upload_url = data['uploadUrl']

    # Upload to storage
    with open('profile.jpg', 'rb') as f:
        put = requests.put(
            upload_url,
            headers={'Content-Type': 'image/jpeg'},
            data=f,
        )
    assert put.status_code == 200, put.text

    # Confirm the upload
    result = requests.post(
        f'{base}/api/v1/upload/complete',
        headers={
            'x-api-key': api_key,
            'Content-Type': 'application/json',
        },
        json={'fileId': file_id},
    )

    file = result.json()
    assert file['status'] == 'UPLOADED'
    assert requests.get(file['url']).content == profile_jpg.read_bytes()

    # List files
    response = requests.get(
        f'{base}/api/v1/files',
        headers={'x-api-key': api_key},
        params={'limit': 20},
    )
    data = response.json()
    files = data['files']
    assert [f['id'] for f in files] == [file_id]

    # Delete a file
    key = file['key']
    deleted = requests.delete(
        f'{base}/api/v1/files/{quote(key, safe="")}',
        headers={'x-api-key': api_key},
    )
    assert deleted.status_code == 200
    assert File.objects.get(pk=file_id).status == 'DELETED'
    assert requests.get(file['url']).status_code == 404


def curl(*args):
    out = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    body, _, status = out.rpartition("\n")
    return int(status), body


def test_the_curl_examples_run_as_written(live_server, api_key, profile_jpg):
    base = live_server.url
    size = profile_jpg.stat().st_size
    status, body = curl("-X", "POST", f"{base}/api/v1/upload/request",
                        "-H", f"x-api-key: {api_key}", "-H", "Content-Type: application/json",
                        "-d", json.dumps({"fileName": "profile.jpg", "fileSize": size,
                                          "contentType": "image/jpeg",
                                          "routeSlug": "imageUploader"}))
    assert status == 200, body
    ticket = json.loads(body)
    status, body = curl("-X", "PUT", ticket["uploadUrl"], "-H", "Content-Type: image/jpeg",
                        "--data-binary", f"@{profile_jpg}")
    assert status == 200, body
    status, body = curl("-X", "POST", f"{base}/api/v1/upload/complete",
                        "-H", f"x-api-key: {api_key}", "-H", "Content-Type: application/json",
                        "-d", json.dumps({"fileId": ticket["fileId"]}))
    assert status == 200 and json.loads(body)["status"] == "UPLOADED"
    status, body = curl(f"{base}/api/v1/files?limit=20", "-H", f"x-api-key: {api_key}")
    assert [f["key"] for f in json.loads(body)["files"]] == [ticket["key"]]
    status, body = curl("-X", "DELETE", f"{base}/api/v1/files/{quote(ticket['key'], safe='')}",
                        "-H", f"x-api-key: {api_key}")
    assert status == 200
    status, body = curl(f"{base}/api/v1/files?limit=20", "-H", f"x-api-key: {api_key}")
    assert json.loads(body) == {"files": [], "nextCursor": None}
