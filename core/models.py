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
