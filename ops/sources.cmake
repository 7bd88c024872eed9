target_sources(tapegrad_ops PRIVATE
  ops/activation.cpp
  ops/arithmetic.cpp
  ops/elementwise.cpp
  ops/loss.cpp
  ops/matmul.cpp
  ops/reduce.cpp
  ops/shape.cpp
  ops/softmax.cpp)
