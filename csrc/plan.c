/* The inference plan's elementwise ops (plan.h), instantiated for float and double from
 * plan_impl.h. */
#include <math.h>
#include <string.h>

#include "plan.h"

#define REAL float
#define FN(name) name##_f32
#define EXP expf
#define TANH tanhf
#include "plan_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH

#define REAL double
#define FN(name) name##_f64
#define EXP exp
#define TANH tanh
#include "plan_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH
