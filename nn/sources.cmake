target_sources(tapegrad_nn PRIVATE
  nn/activations.cpp
  nn/adagrad.cpp
  nn/adam.cpp
  nn/checkpoint.cpp
  nn/checkpoint_folder.cpp
  nn/checkpoint_manifest.cpp
  nn/clip_grad.cpp
  nn/dense.cpp
  nn/init.cpp
  nn/loss.cpp
  nn/module.cpp
  nn/optimizer.cpp
  nn/rmsprop.cpp
  nn/schedule.cpp
  nn/schedule_cycle.cpp
  nn/sequential.cpp
  nn/sgd.cpp
  nn/normalization.cpp)
  nn/sgd.cpp)
target_sources(tapegrad_nn PRIVATE
  nn/dropout.cpp
  nn/embedding.cpp)
target_sources(tapegrad_nn PRIVATE nn/attention.cpp)
  nn/recurrent_cell.cpp
  nn/recurrent.cpp)
target_sources(tapegrad_nn PRIVATE nn/gradcheck_module.cpp)
