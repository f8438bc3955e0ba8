"""Clustering built for deletion."""

# SPDX-License-Identifier: BSD-3-Clause

from ._dc_kmeans import DCKMeans

__all__ = ["DCKMeans"]
