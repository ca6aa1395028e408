"""Upload a local data folder to the workspace's default datastore under AZML_DATAPATH.

    AZML_DATAPATH=titanic-data python aml/upload-data.py --data-dir data/titanic

Variables: AZML_DATAPATH; for Azure ML also AZML_WORKSPACE, AZML_SUBID, AZML_RESGRP (see
amllib/settings.py). On Azure ML SDK v2 the upload is a new version of a `uri_folder` data
asset named after AZML_DATAPATH; on SDK v1 it is written to the datastore path itself; on the
local backend it replaces the datastore folder and records a new data version.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from amllib import ConfigError, Settings, get_backend
from amllib.cli import run


def upload(args: argparse.Namespace, settings: Settings) -> None:
    datapath = settings.datapath()
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise ConfigError(f"--data-dir {args.data_dir}: no such folder")
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    if not files:
        raise ConfigError(f"--data-dir {args.data_dir}: the folder is empty, nothing to upload")
    backend = get_backend(settings)
    ref = backend.upload_data(data_dir, datapath)
    version = f" (data version {ref.version})" if ref.version is not None else ""
    print(f"uploaded {len(files)} files from {data_dir} to {ref.location}{version}")


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    result.add_argument("--data-dir", required=True, help="the local folder to upload")
    return result


if __name__ == "__main__":
    run(parser(), upload)
