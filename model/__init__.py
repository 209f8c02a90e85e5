"""Talking to Qwen3-VL: the wire format (model.qwen3vl) and the backends."""
