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
