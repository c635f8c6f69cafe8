"""The stack configuration, by concern: each module holds one concern's settings, defaults, documentation and
checks (`cluster`, `gpu_pool`, `kserve`, `triton`, `inference_services`, ...); `stack` assembles and validates
the whole stack; `reference` turns the schema into the README table and `Pulumi.yaml`'s `config:` block.

    settings = load()    # in __main__.py: every problem at once, before any resource exists
"""

from settings.base import PROJECT, ConfigError, Problem
from settings.stack import StackSettings, load, parse

__all__ = ["PROJECT", "ConfigError", "Problem", "StackSettings", "load", "parse"]
