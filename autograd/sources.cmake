target_sources(tapegrad_autograd PRIVATE
  autograd/anomaly.cpp
  autograd/broadcast.cpp
  autograd/buffer_pool.cpp
  autograd/engine.cpp
  autograd/factories.cpp
  autograd/func.cpp
  autograd/func_jacobian.cpp
  autograd/gradcheck.cpp
  autograd/grad_mode.cpp
  autograd/node.cpp
  autograd/plain_tensor.cpp
  autograd/random.cpp
  autograd/shape.cpp
  autograd/small_pool.cpp
  autograd/tape.cpp
  autograd/tensor.cpp
  autograd/threads.cpp)
target_sources(tapegrad_autograd PRIVATE autograd/graph_view.cpp)
target_sources(tapegrad_autograd PRIVATE autograd/checkpoint_segment.cpp)
target_sources(tapegrad_autograd PRIVATE autograd/forward_ad.cpp)
