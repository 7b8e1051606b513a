"""Power and energy sensors. Each one is Qt-free and reports how its figures were obtained."""
