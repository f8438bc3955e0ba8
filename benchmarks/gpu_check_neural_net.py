"""The neural-net unlearning benchmark on a CUDA GPU, at a small scale (< 5 min).

Runs ``bench_neural_net.py`` with ``device="cuda"``: both tasks
(make_classification scaled to 10,000 rows), both scenarios, every method,
20 training epochs, and prints the table. Exits with a message if no GPU.

Run from the repository root: ``python benchmarks/gpu_check_neural_net.py``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_neural_net  # noqa: E402
import torch  # noqa: E402


def main():
    if not torch.cuda.is_available():
        print("No CUDA device: nothing to check.")
        return 1
    print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    start = time.perf_counter()
    bench_neural_net.main(["--device", "cuda", "--epochs", "20", "--threads", "4"])
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
