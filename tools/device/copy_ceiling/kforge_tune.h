// How copy_ceiling.cu moves the state: 0 a grid-stride float4 copy kernel (4 blocks of 256
// threads per SM, 4 loads in flight per thread), 1 cudaMemcpyAsync device to device.
#pragma once
#define COPY_MODE 0
