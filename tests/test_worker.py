"""The live-training worker, the run queue and saving, on real MNIST images.

Runs use a small MLP on a 2,000-image subset of the official MNIST training split so that each
test takes a few seconds on a 2-core CPU.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from nnviz import checkpoints
from nnviz.jobs.live_run import TrainJob
from nnviz.jobs.metrics import DIVERGED, FAILED, FINISHED, PAUSED, QUEUED, RUNNING, STOPPED
from nnviz.jobs.queue import RunQueue
from nnviz.jobs.worker import TrainingWorker
from nnviz.models import architecture_for
from nnviz.events import BatchEnd, EpochEnd
from nnviz.training import TrainConfig

ROOT = Path(__file__).resolve().parent.parent

SMALL_MLP = architecture_for("mlp", "mnist", hidden=[64])


def small_job(epochs=3, **overrides) -> TrainJob:
    config = TrainConfig(**{"epochs": epochs, "batch_size": 64, "learning_rate": 3e-3, "train_size": 2000,
                            "device": "cpu", "num_threads": 1, **overrides})
    return TrainJob(dict(SMALL_MLP), "mnist", config)


def wait_for(predicate, timeout=60.0, every=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def test_worker_trains_on_real_subset_and_loss_falls(workers):
    job = small_job(epochs=3)
    worker = TrainingWorker(job, preview=job.preview, preview_every_s=0.1).start()
    workers.append(worker)
    assert worker.join(120), "the run did not finish"
    snap = worker.snapshot()
    assert snap.status == FINISHED and snap.message == "Finished.", snap.message
    assert len(snap.steps) == 3 * 32 and snap.steps == tuple(range(1, 97))  # 2,000 / 64 → 32 batches
    first, last = sum(snap.losses[:10]) / 10, sum(snap.losses[-10:]) / 10
    assert first > 1.5 and last < 0.6 * first, (first, last)
    assert [e.epoch for e in snap.epochs] == [1, 2, 3]
    assert snap.epochs[-1].test_accuracy > 0.8  # on the 10,000 official test images
    assert snap.epochs[-1].test_loss < snap.epochs[0].test_loss
    # The model and its card are kept, ready to save.
    assert job.model is not None and job.card["dataset"] == "mnist"
    assert job.card["metrics"]["epochs_completed"] == 3 and not job.card["metrics"]["stopped_early"]
    # The preview shows the trained network's answers on one test image per digit.
    assert snap.preview is not None and len(snap.preview.labels) == 10
    assert sorted(snap.preview.labels.tolist()) == list(range(10)) and snap.preview.correct >= 7


def test_stop_ends_run_within_one_second_and_keeps_model(workers):
    job = small_job(epochs=50, schedule="constant")
    worker = TrainingWorker(job).start()
    workers.append(worker)
    assert wait_for(lambda: len(worker.snapshot().steps) >= 40), "training did not start"
    start = time.perf_counter()
    ended = worker.stop(wait_s=1.0)
    elapsed = time.perf_counter() - start
    assert ended and elapsed < 1.0, f"stop took {elapsed:.2f} s"
    snap = worker.snapshot()
    assert snap.status == STOPPED and snap.message == "Stopped; the network keeps what it learned so far."
    assert len(snap.steps) < 50 * 32
    assert job.model is not None and job.card["metrics"]["stopped_early"]
    # The kept model is the trained one: it already does much better than chance (10 %).
    from nnviz.data import load_tensors
    from nnviz.training import evaluate
    x, y = load_tensors("mnist", train=False)
    accuracy, _ = evaluate(job.model, x[:2000], y[:2000])
    assert accuracy > 0.6


def test_stop_during_evaluation_is_quick(workers):
    """A Stop pressed while the test images are being evaluated does not wait for the rest of them.

    The job's ``should_stop`` is watched: ``fit`` asks it after the run's one batch, then before
    each chunk of the test images (and once after them), so its third call comes with one chunk
    evaluated and the rest to go. There it waits for the Stop, which therefore certainly arrives
    during the evaluation."""
    from nnviz.data import load_tensors
    from nnviz.models import build_model
    from nnviz.training import fit

    x, y = load_tensors("mnist", train=True)
    test = load_tensors("mnist", train=False)
    # Ten copies of the test set: a whole evaluation would take several seconds on any CPU.
    big_test = (test[0].repeat(10, 1, 1, 1), test[1].repeat(10))
    in_evaluation = threading.Event()
    asked = []  # what should_stop answered, call by call

    def job(on_event, should_stop):
        def watched():
            if len(asked) == 2:  # the batch done, one chunk evaluated, the rest to go: stop now
                in_evaluation.set()
                assert wait_for(lambda: worker.stop_requested, timeout=30)
            asked.append(should_stop())
            return asked[-1]

        model = build_model(architecture_for("cnn", "mnist", channels=(16, 32)))
        config = TrainConfig(epochs=1, batch_size=64, train_size=64, num_threads=1)
        for event in fit(model, config, (x, y), big_test, should_stop=watched):
            on_event(event)
        return model

    worker = TrainingWorker(job).start()
    workers.append(worker)
    wait_for(lambda: in_evaluation.is_set() or not worker.alive, timeout=60)
    assert in_evaluation.is_set(), f"fit did not ask should_stop during the evaluation (asked {len(asked)} times)"
    start = time.perf_counter()
    assert worker.stop(wait_s=1.0), "the thread was still evaluating after 1 s"
    assert time.perf_counter() - start < 1.0
    # fit asked after its one batch; evaluation asked before each of its 400 chunks of 250 images
    # (fit's chunk when it may be stopped) and ended at the first ask after the Stop, with 1 chunk
    # done; fit asked once more.
    assert asked == [False, False, True, True]
    snap = worker.snapshot()
    assert snap.status == STOPPED and snap.epochs == ()  # the cut-short evaluation is not reported


def test_huge_learning_rate_diverges_with_plain_message(workers):
    job = small_job(epochs=2, learning_rate=1e3, optimizer="sgd", schedule="constant")
    worker = TrainingWorker(job).start()
    workers.append(worker)
    assert worker.join(60)
    snap = worker.snapshot()
    assert snap.status == DIVERGED
    # the suggestion is a rate the Train page can select: the largest of them at most a tenth of 1000
    assert re.fullmatch(r"Training stopped: the loss (became (NaN|infinite)|blew up to [\d.e+]+ \(a network that only "
                        r"guesses scores 2\.30\)) at batch [\d,]+ of the run \(in epoch [12]\)\. The weights "
                        r"grew out of control, which almost always means the learning rate \(1000\) is too high "
                        r"for this model and optimizer\. Try a smaller learning rate, e\.g\. 100\.", snap.message), \
        snap.message
    assert job.model is not None  # what was trained is still there to inspect


def test_pause_holds_and_resume_continues(workers):
    job = small_job(epochs=50)
    # A paused worker wakes up now and then to ask whether its browser tab is still there (at most
    # once a second): each question is proof that the worker ran while paused, without training.
    asked = []
    worker = TrainingWorker(job, client_alive=lambda: asked.append(len(worker.snapshot().steps)) or True).start()
    workers.append(worker)
    assert wait_for(lambda: len(worker.snapshot().steps) >= 5)
    worker.pause()
    assert wait_for(lambda: worker.snapshot().status == PAUSED, timeout=5)
    held, questions = len(worker.snapshot().steps), len(asked)
    assert wait_for(lambda: len(asked) >= questions + 2, timeout=10)
    assert len(worker.snapshot().steps) == held and set(asked[questions:]) == {held}
    worker.resume()
    assert wait_for(lambda: len(worker.snapshot().steps) > held + 3, timeout=10)
    assert worker.snapshot().status == RUNNING
    worker.pause()
    assert wait_for(lambda: worker.snapshot().status == PAUSED, timeout=5)
    start = time.perf_counter()
    assert worker.stop(wait_s=1.0) and time.perf_counter() - start < 1.0  # a paused run stops at once
    assert worker.snapshot().status == STOPPED


def test_concurrency_limit_queues_second_run(workers):
    queue = RunQueue(max_runs=1)
    first = TrainingWorker(small_job(epochs=50), queue=queue).start()
    workers.append(first)
    assert wait_for(lambda: len(first.snapshot().steps) >= 3)
    second = TrainingWorker(small_job(epochs=1), queue=queue).start()
    third = TrainingWorker(small_job(epochs=1), queue=queue).start()
    workers += [second, third]
    assert wait_for(lambda: second.snapshot().status == QUEUED and third.snapshot().queue_position == 2, timeout=5)
    assert second.snapshot().queue_position == 1 and second.snapshot().steps == ()
    assert third.snapshot().status == QUEUED and first.snapshot().queue_position == 0
    trained = len(first.snapshot().steps)
    assert wait_for(lambda: len(first.snapshot().steps) >= trained + 10)
    assert second.snapshot().steps == ()  # still waiting while the first trains ten more batches
    # Cancelling a waiting run frees its place: the third moves up.
    assert second.stop(wait_s=2)
    assert second.snapshot().status == STOPPED and second.snapshot().message == "Cancelled while waiting for a free slot."
    assert wait_for(lambda: third.snapshot().queue_position == 1, timeout=5), third.snapshot().queue_position
    assert third.snapshot().status == QUEUED and third.snapshot().steps == () and queue.waiting == 1
    first.stop(wait_s=2)
    assert third.join(60) and third.snapshot().status == FINISHED and third.snapshot().queue_position == 0
    assert queue.running == 0 and queue.waiting == 0


def test_run_queue_positions_are_first_come_first_served():
    queue = RunQueue(max_runs=2)
    a, b, c, d = (queue.enter() for _ in range(4))
    assert [t.position for t in (a, b, c, d)] == [0, 0, 1, 2]
    assert not c.wait(timeout=0.05)
    a.release()
    assert c.wait(timeout=1) and [t.position for t in (b, c, d)] == [0, 0, 1]
    d.release()
    assert d.position == -1 and queue.waiting == 0
    with pytest.raises(ValueError, match="^max_runs must be at least 1, got 0$"):
        RunQueue(max_runs=0)


def test_max_runs_setting(monkeypatch):
    from nnviz.jobs.queue import default_max_runs
    monkeypatch.setenv("NNVIZ_MAX_RUNS", "3")
    assert default_max_runs() == 3
    for bad in ("none", "0", "-2"):
        monkeypatch.setenv("NNVIZ_MAX_RUNS", bad)
        with pytest.raises(ValueError, match=f"^NNVIZ_MAX_RUNS must be a positive integer, got '{bad}'$"):
            default_max_runs()
    monkeypatch.delenv("NNVIZ_MAX_RUNS")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert default_max_runs() == 8  # one run per two cores
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_max_runs() == 1  # at least one


def test_run_of_a_closed_tab_stops_itself(workers):
    worker = TrainingWorker(small_job(epochs=50), client_alive=lambda: False, client_grace_s=0.5).start()
    workers.append(worker)
    assert worker.join(30)
    snap = worker.snapshot()
    assert snap.status == STOPPED
    assert snap.message == "The browser tab that started this run was closed, so the run was stopped."


def test_a_failing_job_ends_the_run_with_its_reason(workers):
    def job(on_event, should_stop):
        on_event(BatchEnd(1, 1, 10, 2.3, 0.1, 64, 100.0, 0.1))
        raise OSError("the disk is full")

    worker = TrainingWorker(job).start()
    workers.append(worker)
    assert worker.join(30)
    snap = worker.snapshot()
    assert snap.status == FAILED and snap.message == "The run failed: the disk is full"
    assert isinstance(worker.error, OSError) and worker.result is None and snap.steps == (1,)


def test_any_job_callable_reports_its_events(workers):
    """Any callable ``job(on_event, should_stop)`` that reports BatchEnd/EpochEnd can be a job (e.g.
    a linear head on fixed features), and what it returns is the worker's result."""
    def job(on_event, should_stop):
        for step in range(1, 1000):
            on_event(BatchEnd(1, step, 999, 1.0 / step, 0.1, step, 100.0, step / 100))
            time.sleep(0.001)
        on_event(EpochEnd(1, 0.1, 0.9, 0.1, 0.9, 1.0))
        return "done"

    worker = TrainingWorker(job).start()
    workers.append(worker)
    assert worker.join(30) and worker.result == "done"
    snap = worker.snapshot()
    assert snap.status == FINISHED and len(snap.steps) == 999 and len(snap.epochs) == 1
    assert snap.smoothed[-1] < snap.smoothed[10]


def test_saved_run_appears_among_digit_models(tmp_path, monkeypatch, workers):
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path))
    from nnviz.predict import DigitClassifier
    from nnviz.checkpoints import check_model_name
    job = small_job(epochs=1)
    worker = TrainingWorker(job).start()
    workers.append(worker)
    assert worker.join(60) and worker.snapshot().status == FINISHED
    assert check_model_name("digits-cnn", {"digits-cnn"}) == "A model called 'digits-cnn' already exists; choose another name."
    assert check_model_name("../evil", set()) == ("Use 1–64 letters, digits, '-', '_' or '.', starting with a letter "
                                                  "or digit (the name becomes a file name).")
    assert check_model_name("my-mlp", set()) is None
    checkpoints.save_checkpoint(job.model, job.card, checkpoints.user_models_dir() / "my-mlp")
    cards = {c["name"]: c for c in checkpoints.list_cards()}
    assert cards["my-mlp"]["source"] == "user" and cards["my-mlp"]["dataset"] == "mnist"
    classifier = DigitClassifier("my-mlp")
    from nnviz.data import load_torchvision_dataset
    test = load_torchvision_dataset("mnist", train=False)
    digits = test.data[:20].numpy()  # real test digits, white ink on black like the canvas
    right = sum(classifier.predict_image(d).index == int(t) for d, t in zip(digits, test.targets[:20]))
    assert right >= 14


def test_cifar10_animals_loads_as_colour_images():
    from nnviz.data import dataset_info, load_tensors
    from nnviz.models import build_model
    x, y = load_tensors("cifar10-animals", train=False)
    assert x.shape == (6000, 3, 32, 32) and x.dtype == torch.float32
    assert y.bincount().tolist() == [1000] * 6
    assert abs(float(x.mean())) < 0.2 and 0.8 < float(x.std()) < 1.2  # normalised per channel
    assert dataset_info("cifar10-animals").classes == ("bird", "cat", "deer", "dog", "frog", "horse")
    logits = build_model(architecture_for("cnn", "cifar10-animals"))(x[:4])
    assert logits.shape == (4, 6)
    mlp = build_model(architecture_for("mlp", "cifar10-animals", hidden=[32]))
    assert mlp(x[:4]).shape == (4, 6)


# Run in a fresh interpreter: glibc's malloc settings are process-wide and stay, so any worker
# started earlier in the test process would already have made them.
FAULTS_PER_BATCH = """
import json, resource
import torch
import torch.nn.functional as F
from nnviz.models import build_model
from nnviz.training import QUICK_CNN
from nnviz.jobs.worker import TrainingWorker

torch.manual_seed(0)
model = build_model(dict(QUICK_CNN))
optimizer = torch.optim.Adam(model.parameters(), 1e-3)
x, y = torch.randn(128 * 20, 1, 28, 28), torch.randint(0, 10, (128 * 20,))

def job(on_event, should_stop):
    for i in range(20):
        if i == 5:  # after warm-up
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        optimizer.zero_grad()
        F.cross_entropy(model(x[i * 128:(i + 1) * 128]), y[i * 128:(i + 1) * 128]).backward()
        optimizer.step()
    return (resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before) / 15

worker = TrainingWorker(job).start()
assert worker.join(120) and worker.error is None, worker.error
print(json.dumps(worker.result))
"""


def test_worker_thread_reuses_freed_memory_between_batches():
    """Outside the main thread glibc's malloc used to give each batch's activations back to the OS
    and fault them in again: about 3,000 page faults per batch of the quick CNN in the training
    thread (and 10–40 % slower training). With the malloc settings the worker makes when it
    starts, memory is reused: the batches run as a worker's job, and the page faults are counted
    in its thread."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the page faults come from glibc's malloc; other C libraries have nothing to tune")
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_BATCH], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    faults = json.loads(out.stdout)
    assert faults < 500, f"{faults:.0f} page faults per batch"
