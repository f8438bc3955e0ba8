# Doctest collection imports every module; without the ``nn`` extra
# (torch, skorch) this subpackage cannot be imported, so skip it.
collect_ignore_glob = []
try:
    import skorch  # noqa: F401
    import torch  # noqa: F401
except ImportError:
    collect_ignore_glob = ["*.py"]
