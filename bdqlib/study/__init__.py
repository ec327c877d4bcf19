"""People in the loop: the identification study and the explorers."""
