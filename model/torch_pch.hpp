// Precompiled header for model/: libtorch's headers cost ~15 s per file otherwise.
#pragma once
#include <torch/torch.h>
