"""The kernels floor: Cython bindings that validate every array crossing into C, release the
GIL and dispatch to the C kernels in csrc/. Nothing here imports the rest of the package."""
