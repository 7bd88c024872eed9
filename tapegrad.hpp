/// \file
/// tapegrad: reverse-mode automatic differentiation over xtensor. One include for everything.
///
/// \namespace tapegrad
/// The whole public API: Tensor and the autograd engine, and every differentiable op. File formats,
/// datasets and loaders are in tapegrad::data; layers, losses, initialisers and checkpoints in
/// tapegrad::nn; optimisers and learning-rate schedules in tapegrad::optim.
#pragma once

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

#include <tapegrad/nn/nn.hpp>

#include <tapegrad/data/data.hpp>
