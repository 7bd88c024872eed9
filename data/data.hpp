/// \file
/// data: the IDX, .npy and safetensors file formats, in-memory datasets (Fashion-MNIST) and minibatch loaders,
/// all in namespace tapegrad::data.
///
/// \namespace tapegrad::data
/// Reading data and feeding it to a model: the IDX reader (MNIST, Fashion-MNIST), NumPy's .npy
/// and .npz readers and writers (checkpoints use .npy), safetensors reader and writer, Dataset and DataLoader
/// (minibatches, shuffled with a seeded Generator), as torch::data.
#pragma once

#include <tapegrad/data/char_baselines.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/data/npy.hpp>
#include <tapegrad/data/npz.hpp>
#include <tapegrad/data/safetensors.hpp>
#include <tapegrad/data/sampler.hpp>
#include <tapegrad/data/text.hpp>
