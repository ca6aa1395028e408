"""Resource behaviour that needs the service to answer in ways the emulator never does."""

import responses

from bootstrap.ado import RetryPolicy, connect
from bootstrap.config import load_config
from bootstrap.resources import service_connection
from bootstrap.resources.base import Context
from tests.conftest import REPO_ROOT
from tests.unit.ado_fakes import fake_org


def test_service_connection_create_waits_until_ready():
    cfg = load_config(REPO_ROOT / "config" / "demo.yaml")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        org = fake_org(rsps)
        endpoint = {"id": "se-1", "name": "azure-mlops", "isReady": False}
        rsps.add("POST", f"{org}/_apis/serviceendpoint/endpoints", json=endpoint)
        rsps.add(
            "GET",
            f"{org}/batcomputer/_apis/serviceendpoint/endpoints",
            json={"count": 1, "value": [endpoint]},
        )
        rsps.add(
            "GET",
            f"{org}/batcomputer/_apis/serviceendpoint/endpoints",
            json={"count": 1, "value": [{**endpoint, "isReady": True}]},
        )
        client = connect(org, "pat-value", policy=RetryPolicy(base_delay=0.01, max_delay=0.01))
        ctx = Context(cfg=cfg, client=client, project={"id": "p-1", "name": "batcomputer"})
        assert service_connection.create(ctx)["isReady"] is True
