"""Engines that evaluate the compiled plan of a policy.

The interpreter (:mod:`followup_policy.evaluation`) is the reference semantics and
what ``explain`` uses; :mod:`.generated` turns the same plan into one plain Python
function per policy; :mod:`.portfolio` compiles it to SQL for whole
portfolios (DuckDB, Spark). Differential tests hold every engine to the interpreter.
"""
