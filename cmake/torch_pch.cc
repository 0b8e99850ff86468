// Owner of the precompiled <torch/torch.h> that every LibTorch translation unit reuses
// (cmake/ColonyBuildHygiene.cmake). It compiles to nothing on purpose.
