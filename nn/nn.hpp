// nn: modules (Dense, activations, Sequential, mlp), initialisers, loss modules, gradient clipping
// and checkpoints (namespace tapegrad::nn); optimisers and learning-rate schedules (tapegrad::optim).
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
