"""The refusal every service raises when a contract rule says no."""


class RuleViolation(Exception):
    """A user- or job-caused action refused by a SPEC rule; nothing was changed.

    `message` is shown to the user as it is (already translated where it is built);
    `rule` is the SPEC id that refused it; `status` is the HTTP status the API answers with.
    """

    def __init__(self, message: str, *, rule: str, status: int = 409, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.status = status
        self.field = field

    def __str__(self) -> str:
        return f"{self.message} ({self.rule})"
