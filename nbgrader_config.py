"""nbgrader configuration: solutions/ is nbgrader's source, notebooks/ its release.

One folder per notebook: solutions/01_one_d_flow/01_one_d_flow.ipynb -> notebooks/01_one_d_flow/01_one_d_flow.ipynb.
TAs: put submissions in submitted/<student>/<notebook folder>/ and run `make autograde`.
"""
import os

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "cs280diff"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Every kernel client polls in half-second slices: a reply whose wake-up pyzmq missed is read within 0.5 s, not
# when the cell's timeout runs out (cs280diff/course/kernels.py).
c.AsyncKernelManager.client_class = "cs280diff.course.kernels.PatientKernelClient"
# A student's infinite loop is interrupted after this many seconds per cell; grading goes on.
c.Execute.timeout = 120
# Student stubs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# The release carries no outputs.
c.ClearOutput.enabled = True
