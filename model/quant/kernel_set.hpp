#pragma once
// What the vector kernel files share. Each is built twice (CMakeLists.txt): for AVX2 + FMA +
// F16C into quant::avx2, and with AVX-512 into quant::vnni; LLAMPS_KERNEL_SET names the one
// being built. Include it only from those files: its helpers use their instructions, and
// live in an anonymous namespace so that no build's copy is shared with the other's.
#if defined(LLAMPS_KERNELS_VNNI)
#define LLAMPS_KERNEL_SET vnni
#else
#define LLAMPS_KERNEL_SET avx2
#endif

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "model/quant/formats.hpp"

namespace llamps::quant {
namespace {

// A block's half-precision scale, by the F16C instruction (formats.hpp's load_half is the
// portable conversion; the two agree on every value).
inline float half(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

inline __m128i load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

} // namespace
} // namespace llamps::quant
#endif
