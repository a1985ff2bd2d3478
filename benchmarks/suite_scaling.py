"""Wall time of the quickstart suite with the local executor and with Ray on 2 CPUs, and the
scheduling overhead Ray adds per group.

It plans ``evals/quickstart.yaml`` once (``--tokens`` and ``--evaluators`` shrink it), then
times, each into a fresh records folder:

  (a) the local executor: every group in this process, models and SAEs loaded once;
  (b) Ray, a local instance with 2 CPUs, the plan's own groups (one task per group: the
      quickstart is one group, since every zoo SAE shares the zoo's token set);
  (c) Ray with the plan's SAEs split into ``--split`` groups, so that tasks run side by side
      (a record does not depend on the other SAEs of its group, so (c) gives (a)'s records);
  (d) the scheduling overhead per group: the mean round trip of a Ray task that receives a
      group spec as JSON and returns at once, over ``--round-trips`` tasks on warm workers.

Ray's first task in a fresh worker imports torch and loads the model; (b) and (c) include it,
as a real run does. Each Ray task runs torch on 1 thread (Ray sets OMP_NUM_THREADS to the
task's CPUs), and so does the local run unless ``--threads`` says otherwise. It prints figures; it asserts nothing.

    python benchmarks/suite_scaling.py                                  # the whole suite
    python benchmarks/suite_scaling.py --tokens 4096 --evaluators reconstruction,sparsity
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    args = _args()
    import ray
    import torch

    # Ray gives each task OMP_NUM_THREADS=num_cpus (1 here); the local run gets the same
    torch.set_num_threads(args.threads)

    from saebench.resources import Resources
    from saebench.run.executors import run_local
    from saebench.run.ray_executor import run_ray
    from saebench.run.suites import load_suite

    suite = load_suite(Path(__file__).parents[1] / "evals" / "quickstart.yaml")
    update = {"tokens": args.tokens} if args.tokens else {}
    if args.evaluators:
        update["evaluators"] = args.evaluators.split(",")
    suite = suite.model_validate({**suite.model_dump(), **update})
    resources = Resources()
    began = time.perf_counter()
    groups = suite.plan(progress=False, resources=resources)
    planned = time.perf_counter() - began
    n_records = sum(len(g.saes) * len(g.evaluators) for g in groups)
    print(f"quickstart: {len(groups)} group(s), {n_records} records, {suite.tokens} tokens")
    print(f"plan (loads SAEs and model once): {planned:.1f} s")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory() as root:
        local = _timed(lambda: run_local(groups, Path(root, "a"), resources=resources))
        own = _timed(lambda: run_ray(groups, Path(root, "b"), num_cpus=1))
        split = _split(groups, args.split)
        parallel = _timed(lambda: run_ray(split, Path(root, "c"), num_cpus=1))
    overhead = _round_trip(ray, groups[0], args.round_trips)
    ray.shutdown()
    print(f"(a) local executor:                     {local:7.1f} s")
    print(
        f"(b) Ray, 2 CPUs, {len(groups)} group(s):             {own:7.1f} s  ({own / local:.2f}x local)"
    )
    print(
        f"(c) Ray, 2 CPUs, split into {len(split)} group(s): {parallel:7.1f} s  "
        f"({parallel / local:.2f}x local)"
    )
    print(f"(d) scheduling overhead per group:      {overhead * 1000:7.1f} ms (warm worker)")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=None, help="default: the suite's")
    parser.add_argument("--evaluators", default=None, help="comma-separated; default: the suite's")
    parser.add_argument("--split", type=int, default=2, help="groups in (c)")
    parser.add_argument("--round-trips", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, local run")
    return parser.parse_args()


def _timed(function) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


def _split(groups, parts: int):
    """Each group's SAEs dealt into ``parts`` groups (round robin)."""
    out = []
    for group in groups:
        for index in range(min(parts, len(group.saes))):
            out.append(group.model_copy(update={"saes": group.saes[index::parts]}))
    return out


def _echo(spec_json: str) -> int:
    from saebench.run.planning import GroupSpec

    return len(GroupSpec.model_validate_json(spec_json).saes)


def _round_trip(ray, group, count: int) -> float:
    task = ray.remote(_echo).options(num_cpus=1)
    payload = group.model_dump_json()
    ray.get([task.remote(payload) for _ in range(2)])  # start and warm both workers
    began = time.perf_counter()
    for _ in range(count):
        ray.get(task.remote(payload))
    return (time.perf_counter() - began) / count


if __name__ == "__main__":
    main()
