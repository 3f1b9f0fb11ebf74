"""LoRA supervised fine-tuning of the SLOT model (``slot train``).

Modules: :mod:`config` (hyper-parameters), :mod:`data` (rows -> masked examples, length bucketing),
:mod:`trainer` (the torch loop), :mod:`checkpoint` (resume), :mod:`losslog` (log and plot),
:mod:`split` (held-out splits by group), :mod:`sanity` (quick greedy check), :mod:`command` (the CLI).
"""
