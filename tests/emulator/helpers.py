"""Shared by the emulator tests: SDK clients and plain HTTP against an emulator."""

from __future__ import annotations

import base64

import requests
from azure.devops.connection import Connection
from msrest.authentication import BasicAuthentication

API = "7.1-preview.1"


def clients(emu, pat: str = "demo-pat"):
    """The unmodified SDK's v7.1 client factory for an emulator."""
    return Connection(base_url=emu.url, creds=BasicAuthentication("", pat)).clients_v7_1


def auth_headers(pat: str = "demo-pat", api_version: str | None = API) -> dict[str, str]:
    token = base64.b64encode(f":{pat}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "X-TFS-FedAuthRedirect": "Suppress"}
    if api_version:
        headers["Accept"] = f"application/json;api-version={api_version}"
    return headers


def call(
    emu,
    method: str,
    path: str,
    *,
    json=None,
    params=None,
    headers=None,
    api_version: str | None = API,
):
    """One plain HTTP request to ``{org url}/{path}`` with the demo PAT."""
    merged = {**auth_headers(api_version=api_version), **(headers or {})}
    return requests.request(
        method, f"{emu.url}/{path}", json=json, params=params, headers=merged, timeout=10
    )
