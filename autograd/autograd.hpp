/// \file
/// autograd: tensors, the tape, the backward engine, grad-mode guards, the gradient checker and the
/// function transforms (tapegrad::func).
#pragma once

#include <tapegrad/autograd/anomaly.hpp>
#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/checkpoint_segment.hpp>
#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/forward_ad.hpp>
#include <tapegrad/autograd/func.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/graph_view.hpp>
#include <tapegrad/autograd/hooks.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/autograd/threads.hpp>
