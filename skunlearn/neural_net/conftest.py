# Doctest collection imports every module; without the ``nn`` extra
# (torch, skorch) this subpackage cannot be imported, so skip it.
import importlib.util

collect_ignore_glob = []
if (
    importlib.util.find_spec("torch") is None
    or importlib.util.find_spec("skorch") is None
):
    collect_ignore_glob = ["*.py"]
