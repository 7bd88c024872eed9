// tapegrad: reverse-mode automatic differentiation over xtensor. One include for everything.
#pragma once

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

#include <tapegrad/nn/nn.hpp>

#include <tapegrad/data/data.hpp>
