"""The three tasks a contract may declare, one module each: binary, multiclass, regression.

:func:`task_for` gives the contract's task; :data:`TASK` is the project's (from its contract).
"""

from __future__ import annotations

from ..contract import Contract
from ..schema import CONTRACT
from .base import Predictions, Task
from .binary import Binary
from .multiclass import Multiclass
from .regression import Regression


def task_for(contract: Contract) -> Task:
    """The contract's task, with its target rule and classes."""
    if contract.task == "binary":
        return Binary(contract.target)
    if contract.task == "multiclass":
        return Multiclass(contract.target, contract.classes)
    return Regression()


TASK = task_for(CONTRACT)

__all__ = ["TASK", "Predictions", "Task", "task_for"]
