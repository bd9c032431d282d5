"""The benchmark report: a Markdown page and a PNG plot from the JSON results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.bench.agentdojo.table import section as agentdojo_section
from tools.bench.durable import section as durable_section
from tools.bench.mcp_serve import section as mcp_serve_section
from tools.bench.peers import LABELS
from tools.bench.redaction import section as redaction_section
from tools.bench.retrieval import section as retrieval_section
from tools.bench.scale import section as scale_section
from tools.bench.serve_kill import section as kill_section
from tools.bench.serve_load import section as serve_section
from tools.bench.simulated_day import section as day_section
from tools.bench.tracing_overhead import section as tracing_section

TARGET_OVERHEAD_FACTOR = 5.0
TARGET_OVERHEAD_MS = 1.5
TARGET_CONCURRENCY_RATIO = 1.15
TARGET_AIOHTTP_FLOOR_MS = 0.3
"""agentkit's time per run at most this far above two raw aiohttp POSTs."""
TARGET_VS_OLD_TRANSPORT = 1.1
"""agentkit's wall time under concurrency at most this times that on its old transport."""
TARGET_IMPORT_MS, TARGET_IMPORT_MB = 300.0, 45.0
TARGET_AUDIT_RATE = 20_000
TARGET_DECISION_RATIO = 2.0
FRAMEWORKS = ("openai_agents", "pydantic_ai_chat", "pydantic_ai_responses")
PEERS_TO_BEAT = ("openai_sdk", *FRAMEWORKS)


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def latency_section(data: dict[str, Any]) -> list[str]:
    results = data["results"]
    lines = [
        "## 1. Time per run (prompt -> one tool call -> final text)",
        "",
        f"Two requests and one tool per run against the loopback fake server; "
        f"{data['processes']} child processes per client, rounds interleaved, client and "
        "server on different CPUs. The server counted the requests of every process: "
        "each run made exactly two.",
        "",
        "| client | median ms | p90 ms | over the floor ms | x floor | client CPU ms | "
        "requests/run |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in sorted(results.items(), key=lambda kv: kv[1]["median_of_process_medians_ms"]):
        cpu = r.get("cpu_ms_per_run")
        lines.append(
            f"| {LABELS[name]} | {r['median_of_process_medians_ms']:.2f} | {r['p90_ms']:.2f} | "
            f"{r['overhead_over_floor_ms']:+.2f} | {r['ratio_to_floor']:.2f} | "
            f"{'' if cpu is None else f'{cpu:.2f}'} | {r['requests_per_run']:.0f} |"
        )
    ours = results["agentkit"]["overhead_over_floor_ms"]
    lowest = min(results[f]["overhead_over_floor_ms"] for f in FRAMEWORKS)
    factor = lowest / ours if ours > 0 else float("inf")
    lines += [
        "",
        f"agentkit adds {ours:.2f} ms per run over two raw httpx2 POSTs; the leanest other "
        f"framework adds {lowest:.2f} ms, {factor:.1f} times as much. Target (at least "
        f"{TARGET_OVERHEAD_FACTOR:g} times less overhead than both frameworks, under "
        f"{TARGET_OVERHEAD_MS:g} ms): "
        f"{_met(factor >= TARGET_OVERHEAD_FACTOR and ours <= TARGET_OVERHEAD_MS)}.",
        "",
    ]
    return lines + aiohttp_floor_lines(results)


def aiohttp_floor_lines(results: dict[str, Any]) -> list[str]:
    """agentkit against two raw aiohttp POSTs, the floor under its default transport."""
    if "aiohttp_floor" not in results:
        return []
    floor = results["aiohttp_floor"]["median_of_process_medians_ms"]
    gap = results["agentkit"]["median_of_process_medians_ms"] - floor
    lines = [
        f"Over two raw aiohttp POSTs ({floor:.2f} ms), agentkit adds {gap:.2f} ms per run. "
        f"Target (at most {TARGET_AIOHTTP_FLOOR_MS} ms): {_met(gap <= TARGET_AIOHTTP_FLOOR_MS)}.",
    ]
    if "agentkit_lean" in results:
        old = results["agentkit_lean"]["median_of_process_medians_ms"] - floor
        lines[0] += f" On its old HTTP/1.1 transport agentkit adds {old:.2f} ms."
    if "transport_floor" in results:
        stack = results["transport_floor"]["median_of_process_medians_ms"] - floor
        lines[0] += (
            f" Of that, httpx2 over agentkit's transport (two POSTs, no agentkit work) adds "
            f"{stack:.2f} ms: {_met(stack <= TARGET_AIOHTTP_FLOOR_MS)} for the transport alone."
        )
    if "cpu_ms_per_run" in results["agentkit"]:
        cpu = {n: r["cpu_ms_per_run"] for n, r in results.items()}
        lines[0] += (
            f" In client CPU per run: agentkit {cpu['agentkit']:.2f} ms, the aiohttp floor "
            f"{cpu['aiohttp_floor']:.2f} ms"
        )
        if "agentkit_lean" in cpu:
            lines[0] += f", agentkit on its old transport {cpu['agentkit_lean']:.2f} ms"
        lines[0] += "."
    return [*lines, ""]


def concurrency_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## 2. Concurrency: N runs started together, server waits 200 ms per request",
        "",
        "Ideal wall time is about 400 ms (two requests per run). Every client built on httpx2's "
        "pool gets the same pool limits (as many connections as runs); agentkit runs as shipped, "
        "on httpx2 over aiohttp (see docs/model-client.md), and once more on the HTTP/1.1 "
        "transport it shipped before (kept in tools/bench only to compare). Median of "
        f"{data['processes']} processes; per-run percentiles pooled; peak RSS of the client.",
        "",
    ]
    for size, results in data["sizes"].items():
        lines += [
            f"### {size} runs",
            "",
            "| client | wall ms | x httpx2 floor | per-run p50 ms | p99 ms | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, r in sorted(results.items(), key=lambda kv: kv[1]["wall_ms"]):
            ratio_text = (
                "" if r["ratio_to_httpx2_floor"] is None else f"{r['ratio_to_httpx2_floor']:.2f}"
            )
            lines.append(
                f"| {LABELS[name]} | {r['wall_ms']:.0f} | {ratio_text} | "
                f"{r['per_run_p50_ms']:.0f} | {r['per_run_p99_ms']:.0f} | "
                f"{r['peak_rss_mb']:.0f} |"
            )
        ratio = results["agentkit"]["ratio_to_httpx2_floor"]
        lines.append("")
        if ratio is not None:
            lines.append(
                f"Target (agentkit within {TARGET_CONCURRENCY_RATIO} x the httpx2 floor): "
                f"{ratio:.2f} x, {_met(ratio <= TARGET_CONCURRENCY_RATIO)}."
            )
        lines += [*transport_target_lines(results), ""]
    return lines


def transport_target_lines(results: dict[str, Any]) -> list[str]:
    """The default transport's targets: near the old transport, ahead of every peer."""
    ours = results["agentkit"]["wall_ms"]
    lines = []
    if "agentkit_lean" in results:
        ratio = ours / results["agentkit_lean"]["wall_ms"]
        lines.append(
            f"Target (within {TARGET_VS_OLD_TRANSPORT} x agentkit on its old HTTP/1.1 "
            f"transport): {ratio:.2f} x, {_met(ratio <= TARGET_VS_OLD_TRANSPORT)}."
        )
    rivals = [name for name in PEERS_TO_BEAT if name in results]
    if rivals:
        behind = [LABELS[n] for n in rivals if results[n]["wall_ms"] <= ours]
        verdict = "met" if not behind else "**missed** (behind " + ", ".join(behind) + ")"
        lines.append(f"Target (ahead of every peer: the openai SDK and each framework): {verdict}.")
    return lines


def imports_section(data: dict[str, Any]) -> list[str]:
    names = {
        "agentkit": "`import agentkit`",
        "agentkit_agent": "`from agentkit import Agent`",
        "openai": "`import openai`",
        "openai_agents": "`import agents` (OpenAI Agents SDK)",
        "pydantic_ai": "`import pydantic_ai`",
    }
    lines = [
        "## 3. Import time and memory (fresh interpreter each time, medians)",
        "",
        "| statement | import ms | RSS after MB | x agentkit time |",
        "|---|---:|---:|---:|",
    ]
    base = data["agentkit_agent"]["import_ms"]
    for key, label in names.items():
        r = data[key]
        lines.append(
            f"| {label} | {r['import_ms']:.0f} | {r['rss_mb']:.1f} | {r['import_ms'] / base:.1f} |"
        )
    worst = data["agentkit_agent"]
    ok = worst["import_ms"] < TARGET_IMPORT_MS and worst["rss_mb"] < TARGET_IMPORT_MB
    lines += [
        "",
        f"The bare interpreter holds {data['agentkit']['interpreter_rss_mb']:.1f} MB. Target "
        f"(under {TARGET_IMPORT_MS:g} ms and {TARGET_IMPORT_MB:g} MB, `Agent` imported): "
        f"{_met(ok)}.",
        "",
    ]
    return lines


def sandbox_section(data: dict[str, Any]) -> list[str]:
    labels = {
        "docker_run_cold": "bare `docker run --rm` (no hardening), cold",
        "agentkit_cold": "agentkit DockerSandbox, cold (connect, check image, start, run)",
        "agentkit_warm": "agentkit DockerSandbox, warm pool of 2, back to back",
        "agentkit_warm_spaced": "agentkit DockerSandbox, warm pool of 2, runs 0.5 s apart",
        "autogen_cold": "AutoGen DockerCommandLineCodeExecutor, cold (start + run)",
        "autogen_warm": "AutoGen, warm (exec in its long-lived container)",
    }
    lines = [
        "## 4. Sandbox: `print(1)` on the local image `agentkit-sandbox`",
        "",
        "| variant | n | median ms | p90 ms | x bare docker run |",
        "|---|---:|---:|---:|---:|",
    ]
    bare = data["docker_run_cold"].get("median_ms")
    for key, label in labels.items():
        r = data.get(key)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {label} | - | could not run: {r['error']} | | |")
            continue
        ratio = f"{r['median_ms'] / bare:.2f}" if bare else "-"
        lines.append(f"| {label} | {r['n']} | {r['median_ms']:.0f} | {r['p90_ms']:.0f} | {ratio} |")
    lines += [
        "",
        "agentkit runs every execution in a fresh hardened container (no network, read-only "
        "root, all capabilities dropped, non-root); its warm pool starts the next container "
        "while one runs, so back-to-back calls sometimes wait for the refill (the p90). AutoGen "
        "reuses one container for every block (state carries over between calls), runs "
        "python blocks as `python` (the image, like Debian, has only `python3`: the "
        "benchmark sends an sh block `exec python3 -c 'print(1)'`), needs its bind-mounted "
        "folder readable by the image's user, and its `stop()` waits out `docker stop`'s "
        "10 s grace period, so few cold AutoGen runs are made.",
        "",
    ]
    return lines + _sandbox_targets(data)


def _sandbox_targets(data: dict[str, Any]) -> list[str]:
    """SANDBOX targets: warm p50 5x and p90 3x faster than AutoGen warm; cold within 1.2x."""
    spaced, autogen = data.get("agentkit_warm_spaced", {}), data.get("autogen_warm", {})
    cold, bare = data.get("agentkit_cold", {}), data.get("docker_run_cold", {})
    if not all("median_ms" in r for r in (spaced, autogen, cold, bare)):
        return []
    p50 = autogen["median_ms"] / spaced["median_ms"]
    p90 = autogen["p90_ms"] / spaced["p90_ms"]
    cold_ratio = cold["median_ms"] / bare["median_ms"]
    return [
        f"Warm, as an agent uses it (runs spaced by a model turn): agentkit is {p50:.1f} x "
        f"faster than AutoGen's warm executor at p50 and {p90:.1f} x at p90 (targets 5 x and "
        f"3 x: {_met(p50 >= 5 and p90 >= 3)}), although every agentkit run gets a fresh "
        "container: the pool starts the container and the program's interpreter ahead of "
        f"time. Cold: {cold_ratio:.2f} x a bare `docker run` (target at most 1.2 x: "
        f"{_met(cold_ratio <= 1.2)}).",
        "",
    ]


def audit_section(data: dict[str, Any]) -> list[str]:
    rate = data["records_per_s"]
    return [
        "## 5. Audit log",
        "",
        "| measure | records per second |",
        "|---|---:|",
        f"| JSONL, hash-chained, redacted, one write(2) per record (best of 3) | {rate:,.0f} |",
        f"| the same, per CPU second | {data['records_per_cpu_s']:,.0f} |",
        f"| verify the chain | {data['verify_records_per_s']:,.0f} |",
        f"| fsync after every record | {data['fsync_records_per_s']:,.0f} |",
        "",
        f"Target (at least {TARGET_AUDIT_RATE:,} records per second to a file, flush policy "
        f"in force: one write per record, no fsync): {_met(rate >= TARGET_AUDIT_RATE)}.",
        "",
    ]


def decision_cost_section(data: dict[str, Any]) -> list[str]:
    """Time per decision as a run grows (`tools/bench/decision_cost.py`)."""
    sizes = data["sizes"]
    lines = [
        "## 6. Decision cost as a run grows",
        "",
        "A transfer whose IBAN must come from the user, a trusted lookup or the IBAN fields of "
        "a transaction list, and comes from none of them: every earlier output (about 1.7 KB "
        "of JSON each) is a candidate source. Best of several batches.",
        "",
        "| earlier calls | `decide()` ms | with the runner's history ms |",
        "|---:|---:|---:|",
    ]
    for size in sizes:
        r = data["ms_per_decision"][str(size)]
        lines.append(f"| {size:,} | {r['decide_ms']:.3f} | {r['with_history_ms']:.3f} |")
    ratio = data["ratio"]
    lines += [
        "",
        f"Ratio {sizes[-1]:,}/{sizes[0]:,}: {ratio:.2f} for `decide()`, "
        f"{data['ratio_with_history']:.2f} with the history. Target (at most "
        f"{TARGET_DECISION_RATIO:g}): {_met(ratio <= TARGET_DECISION_RATIO)}.",
        "",
    ]
    return lines


def profile_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Profiles (pyinstrument, self time per run, ms)",
        "",
        "Sampled at 0.5 ms; absolute numbers include the profiler's own cost, so compare the "
        "columns, not the totals with the tables above.",
        "",
    ]
    for name, r in data.items():
        packages = ", ".join(f"{k} {v:.2f}" for k, v in list(r["packages_ms_per_run"].items())[:8])
        lines += [f"- **{name}**: {r['ms_per_run']:.2f} ms per run; by package: {packages}"]
        top = "; ".join(f"{n} {t:.2f}" for n, t in r["top_functions_ms_per_run"][:6])
        lines += [f"  - top functions: {top}"]
    lines.append("")
    return lines


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """The whole page."""
    m, v = report["machine"], report["versions"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m tools.bench.run_all`); raw numbers in "
        "`benchmarks.json`, distributions in `benchmarks.png`. Loopback only: the fake xAI "
        "server answers every client the same way. Times vary by about 20% between "
        "processes on a shared machine: read the ratios, not a lone absolute time.",
        "",
        f"Machine: {m['cpus']} CPUs ({m['processor']}), {m['platform']}, Python {m['python']}. "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + (". **Quick run (smoke test), fewer samples.**" if report.get("quick") else "."),
        "",
        "![latency distributions](benchmarks.png)",
        "",
    ]
    lines += latency_section(report["latency"])
    lines += concurrency_section(report["concurrency"])
    if "scale" in report:
        lines += scale_section(report["scale"])
    if "serve" in report:
        lines += serve_section(report["serve"])
    if "serve_kill" in report:
        lines += kill_section(report["serve_kill"])
    if "durable" in report:
        lines += durable_section(report["durable"])
    if "retrieval" in report:
        lines += retrieval_section(report["retrieval"])
    if "redaction" in report:
        lines += redaction_section(report["redaction"])
    if "simulated_day" in report:
        lines += day_section(report["simulated_day"])
    if "tracing" in report:
        lines += tracing_section(report["tracing"])
    if "mcp_serve" in report:
        lines += mcp_serve_section(report["mcp_serve"])
    lines += imports_section(report["imports"])
    lines += sandbox_section(report["sandbox"])
    lines += audit_section(report["audit"])
    if "decision_cost" in report:
        lines += decision_cost_section(report["decision_cost"])
    lines += findings()
    if "agentdojo" in report:
        agentdojo = Path(__file__).with_name("agentdojo") / "findings.md"
        lines += agentdojo_section(report["agentdojo"], findings(agentdojo))
    lines += profile_section(report["profile"])
    path.write_text("\n".join(lines) + "\n")


def findings(text: Path | None = None) -> list[str]:
    """A findings page kept with the code that measures (default: the profiles' findings)."""
    text = text or Path(__file__).with_name("findings.md")
    return [*text.read_text().splitlines(), ""] if text.exists() else []


def write_plot(report: dict[str, Any], path: Path) -> None:
    """Time-per-run distributions and concurrency wall times, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report["latency"]["results"]
    order = sorted(results, key=lambda n: results[n]["median_of_process_medians_ms"])
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    left.boxplot(
        [results[n]["samples_ms"] for n in order], orientation="horizontal", showfliers=False
    )
    left.set_yticks(range(1, len(order) + 1), [LABELS[n] for n in order], fontsize=8)
    left.set_xlabel("ms per run (2 requests + 1 tool), loopback")
    left.set_title("Time per run")
    sizes = report["concurrency"]["sizes"]
    names = sorted(sizes["100"], key=lambda n: sizes["100"][n]["wall_ms"])
    width = 0.4
    for offset, size in enumerate(sizes):
        walls = [sizes[size][n]["wall_ms"] for n in names]
        positions = [i + (offset - 0.5) * width for i in range(len(names))]
        right.barh(positions, walls, height=width, label=f"{size} runs")
    right.set_yticks(range(len(names)), [LABELS[n] for n in names], fontsize=8)
    right.set_xscale("log")
    right.set_xlabel("wall ms, N runs at once, 200 ms per request (ideal ~400)")
    right.set_title("Concurrency")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    """Rewrite the page and the plot from an existing JSON file (no measuring)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("json_file", nargs="?", default="docs/benchmarks.json")
    parser.add_argument("--no-plot", action="store_true", help="rewrite the page only")
    args = parser.parse_args()
    source = Path(args.json_file)
    report = json.loads(source.read_text())
    if not args.no_plot:
        write_plot(report, source.with_suffix(".png"))
    write_markdown(report, source.with_suffix(".md"))


if __name__ == "__main__":
    main()
