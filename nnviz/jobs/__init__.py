"""The live side of training: runs that train in the background while a page watches them.

* :mod:`nnviz.jobs.worker` — :class:`~nnviz.jobs.worker.TrainingWorker`: one job in a background
  thread, with stop, pause and resume.
* :mod:`nnviz.jobs.metrics` — what the worker records and a page reads: the live metrics.
* :mod:`nnviz.jobs.queue` — the server-wide queue: at most a few runs train at once.
* :mod:`nnviz.jobs.live_run` — a digit/CIFAR training job, a session's run and its history.

The loop itself is :mod:`nnviz.training`; nothing here knows Streamlit.
"""
