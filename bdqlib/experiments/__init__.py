"""The run folder and what the notebooks call: validation, robustness, the plan, torchrun workers."""
