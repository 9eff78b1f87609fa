/* The inference plan's C ops (plan.h), instantiated for float and double from
 * plan_impl.h. */
#include <math.h>
#include <string.h>

#include "plan.h"

#define REAL float
#define FN(name) name##_f32
#define EXP expf
#define TANH tanhf
#define SQRT sqrtf
#include "plan_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH
#undef SQRT

#define REAL double
#define FN(name) name##_f64
#define EXP exp
#define TANH tanh
#define SQRT sqrt
#include "plan_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH
#undef SQRT
