# Ctrl-C during a long kernel call (csrc/interrupt.h): the GRU time loops stop early when SIGINT
# arrives, and the binding raises KeyboardInterrupt instead of returning their partial results.

from cpython.exc cimport PyErr_CheckSignals


cdef extern from "interrupt.h" nogil:
    void gru_interrupt_watch()
    void gru_interrupt_clear()
    int gru_interrupt_pending()


cdef inline int start_interruptible() except -1:
    """Before a kernel call: forget an interrupt that a finished call or Python code already
    answered, but raise one that arrived while this call checked its inputs (Python's handler
    has flagged it, and would otherwise raise it only after the whole kernel call)."""
    gru_interrupt_clear()
    PyErr_CheckSignals()
    return 0


cdef inline int raise_if_interrupted() except -1:
    """After a kernel call that SIGINT may have cut short: raise what Python's handler raises
    (KeyboardInterrupt), or KeyboardInterrupt if it raises nothing (another thread, or a handler
    that returns), since the call's results are incomplete."""
    if gru_interrupt_pending():
        gru_interrupt_clear()
        PyErr_CheckSignals()
        raise KeyboardInterrupt("a kernel call was interrupted")
    return 0
