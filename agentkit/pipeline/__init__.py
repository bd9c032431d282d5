"""The path of one tool call, one module per stage (internal: import from `agentkit`).

```
runner      the loop only: model turn -> the stages below for each call -> next turn
run_config  RunConfig: the limits and request options a run starts with
overrides   the authoriser's additions to the tools (untrusted marks), applied at assembly
turn        build the next request; fold a model response into the run state
parse       arguments string -> JSON object                   (bad JSON: error to the model)
validate    the tool's strict JSON Schema -> ValidCall         (invalid: error to the model)
authorise   run limits, the authoriser's decision, the destructive floor -> Decision
confirm     an approval bound to (run, call, tool, arguments digest), used once
execute     the tool body under its timeout -> ToolOutcome
label       trusted or untrusted by source, size-capped
record      one typed audit event per transition, bound to the run and the call
answer      the final answer against the agent's output type
```
"""
