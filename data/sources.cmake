# data sources (IDX reader, datasets, loaders) are added here.
target_sources(tapegrad_data PRIVATE
  data/dataset.cpp
  data/idx.cpp
  data/loader.cpp
  data/npy.cpp
  data/sampler.cpp)
target_sources(tapegrad_data PRIVATE
  data/char_baselines.cpp
  data/text.cpp)
target_sources(tapegrad_data PRIVATE
  data/atomic_file.cpp
  data/safetensors.cpp)
target_sources(tapegrad_data PRIVATE
  data/mapped_file.cpp
  data/npz.cpp)
