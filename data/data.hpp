/// \file
/// data: the IDX and .npy file formats, in-memory datasets (Fashion-MNIST) and minibatch loaders.
#pragma once

#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/data/npy.hpp>
