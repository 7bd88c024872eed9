# data sources (IDX reader, datasets, loaders) are added here.
find_package(ZLIB REQUIRED)
target_sources(tapegrad PRIVATE
  data/dataset.cpp
  data/idx.cpp
  data/loader.cpp
  data/npy.cpp)
target_link_libraries(tapegrad PUBLIC ZLIB::ZLIB)
