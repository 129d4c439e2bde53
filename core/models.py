from django.db import models


class DailyRun(models.Model):
    """A business date whose daily run finished (TIME-2): the daily task catches up the days after
    the last one finished (a beat that did not fire, a task redelivered after midnight)."""

    day = models.DateField(unique=True)
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"daily run {self.day.isoformat()}"


class DailyDispatch(models.Model):
    """The one dispatch of a beat task that runs a given business date (TIME-2).

    Two beat processes both send the 02:00 task: the first message to reach a worker claims the day,
    any other message of that day does nothing and logs why. The same message delivered again (its
    worker died: acks_late) holds the claim and finishes the run. The real guarantee stays the daily
    jobs' idempotency (REN-8): this only spares the second run."""

    task = models.CharField(max_length=200)
    day = models.DateField()
    dispatch_id = models.CharField(max_length=255, help_text="The Celery task id of the claiming message.")
    claimed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "day"], name="one_dispatch_per_task_and_day")]
        ordering = ["-day", "task"]

    def __str__(self) -> str:
        return f"{self.task} {self.day.isoformat()} by {self.dispatch_id}"


class LifecycleBatch(models.Model):
    """One batch of a daily job run by the Celery engine (core.batches): which Services, which batch
    function, and how far it got. The job that planned it finishes only when all of its batches are
    done (the job order is the contract, TIME-2); a batch whose runner died (SIGKILL, OOM) is taken
    again once its lease has run out. Running a batch twice changes nothing (REN-8)."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        DONE = "done", "done"

    day = models.DateField()
    run = models.CharField(max_length=200, help_text="The dotted path of the batch function.")
    seq = models.PositiveIntegerField()
    ids = models.JSONField(help_text="The primary keys given to the batch function.")
    now = models.DateTimeField(help_text="The instant recorded on what the batch writes.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=255, blank=True, help_text="host:pid of the last runner.")
    done = models.PositiveIntegerField(default=0, help_text="What the batch function changed.")
    queries = models.PositiveIntegerField(default=0, help_text="Database queries of the last run.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "run", "seq"], name="one_batch_per_day_run_and_seq")]
        indexes = [models.Index(fields=["day", "run", "state"], name="lifecycle_batch_open")]
        ordering = ["-day", "run", "seq"]

    def __str__(self) -> str:
        return f"{self.run} {self.day.isoformat()} #{self.seq} ({self.state})"
