"""AgentDojo's ground truth replayed through agentkit: attack pairs stopped, benign tasks kept.

`scenarios` builds what is replayed, `replay` runs one scenario through the Runner,
`figures` counts, `measure` runs the suites, `table` renders. `python -m tools.bench.agentdojo`.
"""
