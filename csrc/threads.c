#include "threads.h"

static int setting = 1;  /* the threads module sets it at import (OMP_NUM_THREADS, or the cores) */

int gru_native_get_num_threads(void) { return setting; }

void gru_native_set_num_threads(int n) { setting = n > 0 ? n : 1; }
