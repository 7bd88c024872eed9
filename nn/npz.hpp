/// \file
/// A module's state_dict to and from NumPy's .npz archives: weights exchanged with NumPy (and,
/// through it, with PyTorch or JAX code) by name.
#pragma once

#include <string>

#include <tapegrad/data/npz.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// Writes module.state_dict() to `path` with data::write_npz() (members "<key>.npy", `<f4` for
/// float, `<f8` for double; deflated when `compressed`, as np.savez_compressed; atomic): what
/// `{k: torch.from_numpy(v) for k, v in np.load(path).items()}` then `model.load_state_dict` read
/// in PyTorch. A tensor held under several keys (a tied weight) is written under each, as
/// PyTorch's state_dict lists it. Throws as write_npz().
template <class T>
void save_npz(const Module<T>& module, const std::string& path, bool compressed = false);

/// Reads every array of the .npz file `path`, converted to T (data::NpzFile::load: any numeric
/// dtype, either byte order, Fortran order), and loads them with module.load_state_dict(dict,
/// strict), which checks everything before changing anything. Returns the missing and unexpected
/// keys (empty when strict). Every array of the file is converted, also those the module has no
/// key for, so peak memory is the file's arrays converted plus the module. Throws IoError or
/// ValueError as NpzFile and load() do (naming the file and the member), ValueError as
/// load_state_dict() does.
template <class T>
IncompatibleKeys load_npz(Module<T>& module, const std::string& path, bool strict = true);

}  // namespace tapegrad::nn
