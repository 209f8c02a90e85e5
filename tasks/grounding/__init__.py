"""Grounding accuracy on the public sets (ScreenSpot / ScreenSpot-v2, ScreenSpot-Pro, OSWorld-G): does
the agent's click land on the described element? One model call per sample with the agent's own
first-step prompt, scored point-in-box / point-in-polygon / refusal, reported overall and per group.
`qwen-agent eval grounding PATH` runs it."""
