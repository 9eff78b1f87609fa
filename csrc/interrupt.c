#include <signal.h>
#include <stddef.h>

#include "interrupt.h"

static volatile sig_atomic_t pending;

#ifdef _WIN32
/* No sigaction: Ctrl-C reaches Python's handler, and KeyboardInterrupt comes after the call. */
void gru_interrupt_watch(void) {}
#else
static struct sigaction previous;
static int watching;

static void on_sigint(int sig, siginfo_t *info, void *context)
{
    pending = 1;
    if (previous.sa_flags & SA_SIGINFO)
        previous.sa_sigaction(sig, info, context);
    else if (previous.sa_handler != SIG_IGN && previous.sa_handler != SIG_DFL)
        previous.sa_handler(sig);
}

void gru_interrupt_watch(void)
{
    struct sigaction current, ours;
    if (watching || sigaction(SIGINT, NULL, &current) != 0) return;
    /* Only in front of a real handler (Python's): an ignored or default SIGINT stays as it is. */
    if (!(current.sa_flags & SA_SIGINFO) &&
        (current.sa_handler == SIG_IGN || current.sa_handler == SIG_DFL))
        return;
    ours = current;
    ours.sa_sigaction = on_sigint;
    ours.sa_flags = current.sa_flags | SA_SIGINFO;
    previous = current;
    if (sigaction(SIGINT, &ours, NULL) == 0) watching = 1;
}
#endif

void gru_interrupt_clear(void) { pending = 0; }

int gru_interrupt_pending(void) { return pending; }
