"""sosbench: SOS-Bench (Substance Outweighs Style) as one installable tool.

Layers, each importing only the ones before it:
suite -> tasks, livebench -> run -> results -> scoring -> judge -> analysis -> report -> cli.
Importing this package does nothing but define names; heavy libraries load on use.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
