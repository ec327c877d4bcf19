"""BDQ itself: the encoder (blur, difference, quantization), its quantizer, a streaming camera path."""
