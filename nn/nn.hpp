/// \file
/// nn: modules (Dense, activations, Sequential, mlp), initialisers, loss modules, gradient clipping
/// and checkpoints (namespace tapegrad::nn); optimisers and learning-rate schedules (tapegrad::optim).
///
/// \namespace tapegrad::nn
/// Layers as thin over the ops as LibTorch's torch::nn: Module, Dense, the activation modules,
/// Sequential and mlp(); loss modules; gradient clipping; checkpoints. Initialisers are in
/// tapegrad::nn::init.
///
/// \namespace tapegrad::optim
/// Optimisers (SGD, Adam, AdamW) with PyTorch's defaults and equations, and learning-rate schedules
/// (StepLR, CosineAnnealingLR), as torch.optim.
#pragma once

#include "nn/activations.hpp"
#include "nn/adam.hpp"
#include "nn/checkpoint.hpp"
#include "nn/clip_grad.hpp"
#include "nn/dense.hpp"
#include "nn/init.hpp"
#include "nn/loss.hpp"
#include "nn/module.hpp"
#include "nn/optimizer.hpp"
#include "nn/schedule.hpp"
#include "nn/sequential.hpp"
#include "nn/sgd.hpp"
