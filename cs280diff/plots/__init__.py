"""Figures and widgets for the notebooks, one file per topic; every figure function is importable from here.

  flow1d       the lecture's 1D flow picture, 1D fields learned vs exact
  solvers      error vs NFE with slopes, local errors over t, 2D trajectories, a metric against a knob
  training     loss curves
  fields2d     2D fields as arrows, samples over the data density (or over any density on a grid)
  images       grids of digits, x_t / x̂1 strips
  distill      the cost of sampling (NFE × time per NFE), few-step methods at equal NFE
  common       evaluating a field on a grid, heat maps
  tables       tables of measured numbers: HTML in a notebook, aligned text in a terminal
  widgets      ipywidgets knobs (``from cs280diff.plots import widgets``)
  playable     the playable world of notebook 8 part 2: buttons step a world model next to its simulator

May import: everything student-facing (top level, ``flows``, ``nets``, ``distill``, ``images``); never ``recipes`` or ``course``.
"""
from cs280diff.plots.common import eval_field, plot_heatmap
from cs280diff.plots.distill import plot_cost, plot_nfe_table
from cs280diff.plots.fields2d import plot_density_samples_2d, plot_fields_2d, plot_quiver_2d, plot_samples_2d
from cs280diff.plots.flow1d import density_grid, field_grid_1d, plot_density_and_velocity, plot_fields_1d, plot_flow_1d
from cs280diff.plots.images import image_grid, plot_class_grid, plot_image_trajectory
from cs280diff.plots.solvers import plot_error_vs_nfe, plot_knob_sweep, plot_local_errors, plot_trajectories_2d
from cs280diff.plots.tables import Table, show_table
from cs280diff.plots.training import moving_average, plot_loss_curve

__all__ = ["eval_field", "plot_heatmap", "plot_cost", "plot_nfe_table", "plot_density_samples_2d", "plot_fields_2d", "plot_quiver_2d",
           "plot_samples_2d", "density_grid",
           "field_grid_1d", "plot_density_and_velocity", "plot_fields_1d", "plot_flow_1d", "image_grid",
           "plot_class_grid", "plot_image_trajectory", "plot_error_vs_nfe", "plot_knob_sweep", "plot_local_errors",
           "plot_trajectories_2d", "moving_average", "plot_loss_curve", "Table", "show_table"]
