/// \file
/// autograd: tensors, the tape, the backward engine, grad-mode guards and the gradient checker.
#pragma once

#include "autograd/anomaly.hpp"
#include "autograd/broadcast.hpp"
#include "autograd/engine.hpp"
#include "autograd/errors.hpp"
#include "autograd/factories.hpp"
#include "autograd/grad_mode.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/node.hpp"
#include "autograd/random.hpp"
#include "autograd/tape.hpp"
#include "autograd/tensor.hpp"
#include "autograd/threads.hpp"
