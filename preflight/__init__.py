"""The application layer: composing and validating the configuration, running, writing results and
the command line. It sits on top of the simulator (``sim`` core, ``agents`` model, ``scenarios``
levers); nothing below imports it (``tests/test_layers.py``)."""
