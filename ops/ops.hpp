/// \file
/// ops: every differentiable op, one family per header.
#pragma once

#include "ops/activation.hpp"
#include "ops/arithmetic.hpp"
#include "ops/elementwise.hpp"
#include "ops/loss.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "ops/shape.hpp"
#include "ops/softmax.hpp"
