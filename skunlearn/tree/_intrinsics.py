"""What the kernels need below numba: a prefetch hint, and ``memmove``."""

# SPDX-License-Identifier: BSD-3-Clause

from llvmlite import ir as _ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the processor to load ``arr.flat[idx]`` (C-contiguous ``arr``)."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = _ir.IntType(8).as_pointer()
        ptr = builder.bitcast(builder.gep(a.data, [args[1]]), i8p)
        i32 = _ir.IntType(32)
        fnty = _ir.FunctionType(_ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # read, keep in all cache levels, data
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def move(typingctx, arr, dst, src, n):
    """``arr[dst:dst + n] = arr[src:src + n]`` for overlapping ranges (``memmove``).

    ``arr`` 1-D and contiguous; no bounds are checked. Moving a long tail of
    an array one place on is a copy the processor does at memory speed,
    where a loop going backwards is not vectorised.
    """
    sig = types.void(arr, dst, src, n)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        size = context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype))
        cgutils.raw_memmove(
            builder,
            builder.gep(a.data, [args[1]]),
            builder.gep(a.data, [args[2]]),
            args[3],
            size,
        )
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def _prefetch_row(a, start, n):
    # every cache line (8 float64) of a.flat[start:start + n]
    for q in range(start, start + n, 8):
        prefetch(a, q)
    prefetch(a, start + n - 1)
