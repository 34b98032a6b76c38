import asyncio
import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


def pytest_configure(config):
    # Under pytest-xdist (``pytest -n 2``, as .ci/run runs the oldest releases)
    # each worker would start torch and BLAS with a thread per core: 4 threads
    # on CI's 2 cores, whose spinning waits made tests/test_end_model.py take
    # 250 s instead of 65 s on a loaded machine. Give each worker its share.
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        from threadpoolctl import threadpool_limits

        share = max(1, (os.cpu_count() or 1) // int(workers))
        torch.set_num_threads(share)
        threadpool_limits(limits=share)


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
