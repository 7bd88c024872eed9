// tapegrad: reverse-mode automatic differentiation over xtensor. One include for everything.
#pragma once

#include "autograd/autograd.hpp"
#include "ops/ops.hpp"

#include "nn/nn.hpp"

#include "data/data.hpp"
