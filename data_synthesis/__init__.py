"""SLOT data synthesis: (text, JSON Schema, gold JSON) training pairs at scale, offline or with a teacher.

Entry points: `python -m data_synthesis generate|merge|convert-e2e` (cli.py) and
`data_synthesis.pipeline.generate(GenConfig(...), out_dir)`.
"""
