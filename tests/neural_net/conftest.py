import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # The CI machine's cores are shared: one thread per process avoids
    # oversubscription, which slows tiny nets down by an order of magnitude.
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
