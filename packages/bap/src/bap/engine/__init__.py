"""Training loops (stage 1 and 3), pseudo-label generation over a data set, evaluation."""
