"""The emulator stands alone: no client-side imports, its data files ship in the package."""

from __future__ import annotations

import subprocess
import sys


def test_package_imports_nothing_from_the_client_side():
    code = (
        "import sys, bootstrap.emulator\n"
        "third = ('azure', 'msrest', 'requests', 'pydantic')\n"
        "ours = ('bootstrap.ado', 'bootstrap.resources', 'bootstrap.config', 'bootstrap.plan')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in third or m.startswith(ours)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_package_data_holds_the_trimmed_route_table_and_resource_areas():
    from bootstrap.emulator import discovery

    locations = discovery.locations()
    assert "dbeaf647-6167-421a-bda9-c9327b25e2e6" in locations  # build definitions
    assert all(entry["routeTemplate"] for entry in locations.values())
    assert {area["name"] for area in discovery.resource_areas()} >= {"core", "git", "Build"}


def test_every_route_with_a_location_id_is_in_the_route_table():
    from bootstrap.emulator import discovery
    from bootstrap.emulator.routes import all_routes

    served = {route.location_id for route in all_routes() if route.location_id}
    assert served <= set(discovery.locations())
