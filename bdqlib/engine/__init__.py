"""How anything is trained: the epoch loop, steps and losses, checkpoints, precision, memory, DDP."""
