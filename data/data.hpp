/// \file
/// data: the IDX and .npy file formats, in-memory datasets (Fashion-MNIST) and minibatch loaders.
#pragma once

#include "data/dataset.hpp"
#include "data/idx.hpp"
#include "data/loader.hpp"
#include "data/npy.hpp"
