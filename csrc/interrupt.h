/* Ctrl-C inside a long kernel call.
 *
 * Python runs its SIGINT handler's work (raising KeyboardInterrupt) only between bytecodes, so a
 * kernel that holds its thread for seconds would hold the interrupt back as long. At import,
 * gru_interrupt_watch() puts a handler in front of Python's that raises a flag and then calls
 * Python's; the time loops poll the flag once per step and stop early, and the binding, seeing
 * it, discards the call's outputs and lets Python raise KeyboardInterrupt. If a program later
 * installs its own SIGINT handler (signal.signal), Python replaces ours and the kernels simply
 * run to the end, as any C extension's would. */
#ifndef GRU_INTERRUPT_H
#define GRU_INTERRUPT_H

void gru_interrupt_watch(void);  /* once per process and module; safe to call again */
void gru_interrupt_clear(void);
int gru_interrupt_pending(void);

#endif
