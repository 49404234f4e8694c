"""Policies as code, pure Python (no Django): the view a policy reads, the built-in checks, CEL.

`view.py` builds the documented JSON view of a product; `builtins.py` holds the library of
parameterised checks; `engine.py` compiles a policy's rule and target and evaluates them.
"""

from governance.policy.engine import MOMENTS, Compiled, Outcome, compile_policy

__all__ = ["MOMENTS", "Compiled", "Outcome", "compile_policy"]
