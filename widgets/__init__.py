"""Notebook widgets for the Inference Workbench (ipywidgets 8, anywidget, inline SVG charts).

``Explorer`` is the whole workbench in one widget; the parts (live paths, vote chart,
refinement diff, prompt lab, trace browser, scaling view, progress) are usable alone.
The library under ``workbench/`` never imports this package.
"""

from widgets.browser import TraceBrowser
from widgets.controls import Controls
from widgets.demo import demo_backend
from widgets.diff import RefinementView, word_diff_html
from widgets.explorer import Explorer
from widgets.live import LiveView
from widgets.paths import PathsView
from widgets.progress import ProgressView
from widgets.prompt_lab import PromptLab
from widgets.scaling import ScalingView
from widgets.sink import WidgetSink
from widgets.state import RunState
from widgets.votes import VoteChart

__all__ = ["Controls", "Explorer", "LiveView", "PathsView", "ProgressView", "PromptLab",
           "RefinementView", "RunState", "ScalingView", "TraceBrowser", "VoteChart",
           "WidgetSink", "demo_backend", "word_diff_html"]
