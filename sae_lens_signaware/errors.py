"""The errors the library raises for what a user can fix; each names what is wrong.

They sit at the bottom of the package (no imports from it), so every layer,
from the architecture up to the commands, raises and catches the same classes.
"""


class NonFiniteTrainingError(FloatingPointError):
    """A NaN or inf in training: ``step``, ``term`` (loss term, parameter or
    ``"input batch"``) and ``cause`` say where and, where known, why."""

    def __init__(self, step: int | str, term: str, cause: str) -> None:
        self.step = step
        self.term = term
        self.cause = cause
        super().__init__(
            f"training stopped at step {step}: {term} is not finite ({cause}); "
            "nothing from this step on was saved"
        )


class NonFiniteSaveError(FloatingPointError):
    """Refused to save an SAE (or a checkpoint) with a NaN or inf parameter."""

    def __init__(self, tensors: list[str]) -> None:
        self.tensors = tensors
        super().__init__(
            "refusing to save an SAE with non-finite values in "
            + ", ".join(tensors)
            + " (a diverged run: lower the learning rate or the coefficients)"
        )


class StateDictError(ValueError):
    """Tensors that do not fit the SAE's config: ``problems`` names each one,
    ``source`` the file they came from (if known)."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(
            f"sign-aware gated SAE tensors{where} do not match the config: "
            + "; ".join(problems)
        )
