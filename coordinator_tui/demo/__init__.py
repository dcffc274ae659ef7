"""Demo data: a deterministic, realistic Finnish store for trying the app, its tests and benchmarks."""

from coordinator_tui.demo.generate import HOSTILE_STRINGS, DemoScale, DemoSummary, build_demo_store

__all__ = ["HOSTILE_STRINGS", "DemoScale", "DemoSummary", "build_demo_store"]
