"""The paper's experiment: grid expansion, paths, config checks, tables, claims and figures.

It knows the workflow's configuration (a plain dict) but never Snakemake: the rule files call
these functions, and the unit tests call them without a workflow.
"""
