/// \file
/// tapegrad: reverse-mode automatic differentiation over xtensor. One include for everything.
///
/// \namespace tapegrad
/// The whole public API: Tensor and the autograd engine, every differentiable op, datasets and
/// loaders. Layers, losses, initialisers and checkpoints are in tapegrad::nn; optimisers and
/// learning-rate schedules in tapegrad::optim.
#pragma once

#include "autograd/autograd.hpp"
#include "ops/ops.hpp"

#include "nn/nn.hpp"

#include "data/data.hpp"
