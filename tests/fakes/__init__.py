"""The fake NVIDIA driver (fake_nvml.c) that tests compile and load through the real pynvml."""
