"""Agents and policies for AgentDojo's four suites: workspace, travel, banking, slack.

`toolkit` turns AgentDojo's tool functions into agentkit tools with the side-effect classes
and untrusted-output marks a deployer sets from their docs; `agents` declares one agent per
suite; `<suite>.yaml` is its policy, `lists/` the trusted lists the policies read. Needs the
`agentdojo` package (the `[bench]` extra). Check a policy against its agent's tools:

    agentkit policy check --agent examples.agentdojo.agents:BankingAgent \\
        examples/agentdojo/banking.yaml

`make bench` replays AgentDojo's ground truth through these (tools/bench/agentdojo).
"""
