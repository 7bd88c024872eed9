target_sources(tapegrad_nn PRIVATE
  nn/activations.cpp
  nn/adagrad.cpp
  nn/adam.cpp
  nn/attention.cpp
  nn/checkpoint.cpp
  nn/checkpoint_folder.cpp
  nn/checkpoint_manifest.cpp
  nn/clip_grad.cpp
  nn/dense.cpp
  nn/dropout.cpp
  nn/embedding.cpp
  nn/gradcheck_module.cpp
  nn/init.cpp
  nn/loss.cpp
  nn/module.cpp
  nn/normalization.cpp
  nn/optimizer.cpp
  nn/recurrent.cpp
  nn/recurrent_cell.cpp
  nn/rmsprop.cpp
  nn/schedule.cpp
  nn/schedule_cycle.cpp
  nn/sequential.cpp
  nn/sgd.cpp
  nn/transformer.cpp)
target_sources(tapegrad_nn PRIVATE nn/conv.cpp)
target_sources(tapegrad_nn PRIVATE nn/pooling.cpp)
target_sources(tapegrad_nn PRIVATE nn/flatten.cpp)
target_sources(tapegrad_nn PRIVATE nn/graph_view.cpp)
target_sources(tapegrad_nn PRIVATE nn/functional_call.cpp)
target_sources(tapegrad_nn PRIVATE nn/per_sample.cpp)
target_sources(tapegrad_nn PRIVATE nn/state_dict.cpp)
target_sources(tapegrad_nn PRIVATE nn/safetensors.cpp)
target_sources(tapegrad_nn PRIVATE nn/npz.cpp)
target_sources(tapegrad_nn PRIVATE nn/checkpoint_file.cpp)
