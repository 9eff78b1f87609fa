/* Vectorisable float32 exp, sigmoid and tanh for the gate passes: plain arithmetic and bit
 * moves that GCC turns into SIMD code inside `#pragma omp simd` loops, where libm's expf and
 * tanhf are one scalar call per element. Error bounds (against float64, tested in
 * tests/test_fastmath.py): sigmoid and tanh within 3e-7 absolute, tanh within 1e-6 relative;
 * NaN stays NaN. */
#ifndef GRU_FASTMATH_H
#define GRU_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The gate passes are compiled three times, for the baseline x86-64 (SSE2, 4 floats a vector),
 * x86-64-v3 (AVX2 + FMA, 8 floats) and x86-64-v4 (AVX-512, 16 floats), and the loader picks by
 * CPU: the wheel stays portable and recent CPUs get the width they have (v4 over v3 on an
 * AVX-512 EPYC: training steps 6-9 % and a one-sequence predict 7 % faster). A native build
 * (-march=native) needs no clones. */
#if defined(GRU_ONE_CLONE)
/* CMake's GRU_CLONE (tools/test_clones.sh): only this one, so that a CPU that would pick
 * another runs and tests it */
#define GRU_SIMD_CLONES __attribute__((target(GRU_ONE_CLONE)))
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX2__) \
    && !defined(GRU_NO_CLONES)
#define GRU_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GRU_SIMD_CLONES
#endif

/* exp(x) = 2^n exp(r) with n = round(x / ln 2), |r| <= ln2 / 2, exp(r) by Cephes' expf
 * polynomial. x is clamped to [-87, 88], where 2^n stays a normal float. */
static inline float exp_f32(float x)
{
    x = x > 88.0f ? 88.0f : x;  /* comparisons, not fminf: a NaN must pass through */
    x = x < -87.0f ? -87.0f : x;
    const float shifter = 12582912.0f;  /* 1.5 * 2^23: adding it rounds to an integer */
    const float t = x * 1.44269504088896341f + shifter;
    const float n = t - shifter;
    float r = x - n * 0.693359375f;  /* ln 2 in two parts (Cody-Waite) */
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits;  /* unsigned: a NaN's bits must not overflow into undefined behaviour */
    memcpy(&bits, &t, sizeof bits);
    const uint32_t e = (bits - 0x4B400000u + 127u) << 23;  /* the float 2^n */
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return p * scale;
}

static inline float sigmoid_f32(float x) { return 1.0f / (1.0f + exp_f32(-x)); }

/* Near zero a polynomial (Cephes' tanhf), where 1 - 2 / (1 + exp(2x)) would cancel. */
static inline float tanh_f32(float x)
{
    const float z = x * x;
    const float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
                          + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    const float large = 1.0f - 2.0f / (1.0f + exp_f32(2.0f * x));
    return (x > -0.625f && x < 0.625f) ? small : large;
}

/* float64 keeps libm's exp: the double kernels are the reference-precision path. */
static inline double sigmoid_f64(double v) { return 1.0 / (1.0 + exp(-v)); }

#endif
