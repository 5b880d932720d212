#pragma once
// The vector set a kernel file is compiled for. The vector kernel files are each built twice
// (CMakeLists.txt): for AVX2 + FMA + F16C into quant::avx2, and with AVX-512 into quant::vnni.
#if defined(LLAMPS_KERNELS_VNNI)
#define LLAMPS_KERNEL_SET vnni
#else
#define LLAMPS_KERNEL_SET avx2
#endif
