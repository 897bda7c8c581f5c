"""The shipped weights of the reference network and their model card (installed as handdigit.weights)."""
