/// \file
/// nn: modules (Dense, activations, Sequential, mlp, embeddings, normalisation, dropout, attention,
/// transformer and recurrent layers, convolution and pooling), gradcheck_module, initialisers, loss modules, gradient
/// clipping, checkpoints, state_dict, safetensors and .npz files (namespace tapegrad::nn); optimisers and learning-rate
/// schedules (tapegrad::optim).
///
/// \namespace tapegrad::nn
/// Layers as thin over the ops as LibTorch's torch::nn: Module, Dense, the activation modules,
/// Sequential and mlp(); Embedding, LayerNorm, RMSNorm, GroupNorm, BatchNorm1d/2d, Dropout,
/// MultiheadAttention, TransformerEncoder(Layer), RNN/LSTM/GRU and their cells; Conv1d, Conv2d,
/// ConvTranspose2d, MaxPool2d/1d, AvgPool2d/1d, AdaptiveAvgPool2d, Flatten, Unflatten; loss modules; gradient
/// clipping; checkpoints; state_dict() and safetensors or .npz files of it. Initialisers are in tapegrad::nn::init.
///
/// \namespace tapegrad::optim
/// Optimisers (SGD, Adam, AdamW, RMSprop, Adagrad) with parameter groups and PyTorch's defaults and
/// equations, and learning-rate schedules (StepLR, CosineAnnealingLR, LambdaLR, LinearLR, OneCycleLR,
/// SequentialLR, ReduceLROnPlateau), as torch.optim.
#pragma once

#include <tapegrad/nn/activations.hpp>
#include <tapegrad/nn/adagrad.hpp>
#include <tapegrad/nn/adam.hpp>
#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/checkpoint.hpp>
#include <tapegrad/nn/clip_grad.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/dense.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/functional_call.hpp>
#include <tapegrad/nn/gradcheck_module.hpp>
#include <tapegrad/nn/graph_view.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/npz.hpp>
#include <tapegrad/nn/optimizer.hpp>
#include <tapegrad/nn/per_sample.hpp>
#include <tapegrad/nn/pooling.hpp>
#include <tapegrad/nn/recurrent.hpp>
#include <tapegrad/nn/recurrent_cell.hpp>
#include <tapegrad/nn/rmsprop.hpp>
#include <tapegrad/nn/safetensors.hpp>
#include <tapegrad/nn/schedule.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/sgd.hpp>
#include <tapegrad/nn/state_dict.hpp>
#include <tapegrad/nn/transformer.hpp>
