import asyncio

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available())")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def client():
    """A dask.distributed client on a two-worker LocalCluster (one per module)."""
    distributed = pytest.importorskip("distributed")
    # (dashboard_address=None means dask's default port 8787, which a second
    # cluster in another pytest worker finds taken and warns about)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with distributed.Client(cluster) as c:
        yield c
    try:
        cluster.close()
    except (TimeoutError, asyncio.TimeoutError):
        # a worker process slower to exit than the nanny's 5 s (seen on a
        # machine loaded 8x its cores): the nanny has killed it; the tests
        # themselves have passed or failed already
        pass
